"""An agency's system uploads a document it has ALREADY signed elsewhere (its own signing
system, the agency's seal on its own token): the file must carry at least one intact, valid
(``PASSED``) signature that covers the whole file — as ``signing.verify`` judges it, through
:mod:`exchange.services.verification` — and no signature that failed; else 422
``not_signed`` and nothing is stored.

Such a document enters the lifecycle ``sealed`` (DESIGN.md §4: draft → signed → sealed →
sent): it is final, no server-side signature may be added to it, and it can be dispatched
at once — by the same agency's system or its clerks, under the same routing rules.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from errors import ErrorCode, Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.enums import DocumentState
from exchange.services import documents
from exchange.services.verification import verify_upload
from signing.report import FAILED, PASSED, Report, SignatureResult
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

# changes after the signature that leave it covering the document: none, or the DSS/timestamps of B-LT/B-LTA
_WHOLE_DOCUMENT_CHANGES = frozenset({"none", "lta_updates"})


def covers_document(signature: SignatureResult) -> bool:
    """An intact, valid, trusted signature over the whole file (or whole revision followed only
    by long-term validation updates)."""
    return (signature.kind == "signature" and signature.indication == PASSED and signature.intact
            and signature.valid and (signature.coverage == "entire_file"
                                     or signature.modification in _WHOLE_DOCUMENT_CHANGES))


def require_signed(report: Report) -> dict[str, Any]:
    """The audit details of an acceptable report; 422 ``not_signed`` otherwise."""
    good = [s for s in report.signatures if covers_document(s)]
    if not good or report.indication == FAILED:
        raise Unprocessable(
            _l("an agency system may only upload a document it has already signed: the file needs a valid "
               "signature covering the whole file, and none that failed"),
            code=ErrorCode.NOT_SIGNED,
            fields={"file": _l("verification result: %(indication)s", indication=str(report.indication))})
    return {"signed_elsewhere": True, "indication": str(report.indication),
            "signatures": [s.field for s in good]}


def upload_signed(svc: "Services", caller: Caller, stream: BinaryIO, metadata: dict[str, Any]) -> dict[str, Any]:
    """``POST /documents`` by an agency's system: verify, then store as a ``sealed`` document."""

    def check(data: BinaryIO) -> dict[str, Any]:
        details = require_signed(verify_upload(svc, data))
        return {**details, "token_id": caller.token_id}

    return documents.upload(svc, caller, stream, metadata, state=DocumentState.SEALED, check=check)
