"""Recipients get files that verify PASSED (issue 8, item 7).

A document sealed at B-B or B-T carries no revocation data: a recipient, who validates
offline from the file (``exchange.services.verification``), would see INDETERMINATE. So
before such a document is dispatched, its validation data (certificates, OCSP responses,
CRLs of every signature and signature timestamp, from our CA's responders answered
in-process) is added in one DSS update, stored as a revision of kind ``validation_data``,
and that revision is what the dispatch sends. Documents sealed at B-LT or B-LTA (the
default) already carry it, the earlier person signatures included (``signing.sign``
backfills them), and need nothing.

Like a signature, in three steps so that the slow part holds no lock: read, build the
update outside any transaction, append the revision if the document has not changed meanwhile.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import select

from exchange.domain.caller import Caller
from exchange.domain.enums import RevisionKind, SigningLevel
from exchange.domain.lifecycle import DISPATCHABLE
from exchange.models import Document, Revision, utcnow
from exchange.services import audit
from exchange.services.signatures import latest_revision, output_buffer, services_answering, spooled_copy

if TYPE_CHECKING:
    from bootstrap import Services

LEVELS_WITHOUT_DATA = frozenset({SigningLevel.B_B.value, SigningLevel.B_T.value})


def _needs_data(document: Document | None, caller: Caller, latest: Revision | None) -> bool:
    """A dispatchable document of the caller's agency whose last signature is B-B or B-T."""
    return (document is not None and document.is_issued_by(caller.agency_id)
            and document.state in DISPATCHABLE and latest is not None
            and latest.kind == RevisionKind.SIGNED and latest.level in LEVELS_WITHOUT_DATA)


def complete_before_dispatch(svc: "Services", caller: Caller, document_id: int) -> Revision | None:
    """Add the validation data a recipient needs, if the latest revision lacks it; returns the
    new revision (None when nothing was needed). Anything that is not this agency's sealed
    document is left for the dispatch to refuse. Responders down: 503, nothing changed."""
    with svc.uow() as uow:
        document = uow.session.get(Document, document_id)
        latest = latest_revision(uow.session, document_id) if document is not None else None
        if not _needs_data(document, caller, latest):
            return None
        assert latest is not None
        base_seq, base_sha256 = latest.seq, latest.blob_sha256
    from signing.sign import add_validation_data  # pyHanko: loaded by the first dispatch, not by start-up

    with spooled_copy(svc.blobs, base_sha256) as source, output_buffer() as output:
        with services_answering():
            added = add_validation_data(source, svc.validation_context(for_signing=True), output)
        if not added:
            return None
        output.seek(0)
        ref = svc.blobs.put(output)
    with svc.uow(write=True) as uow:
        session = uow.session
        document = session.exec(select(Document).where(Document.id == document_id).with_for_update()).one()
        latest = latest_revision(session, document_id)
        if latest.seq != base_seq:
            return None  # a twin dispatch added it meanwhile (or the document changed): the dispatch sends the latest
        revision = Revision(document_id=document_id, seq=base_seq + 1, blob_sha256=ref.sha256, size=ref.size,
                            kind=RevisionKind.VALIDATION_DATA, created_by_id=caller.user_id)
        session.add(revision)
        document.updated_at = utcnow()
        session.add(document)
        audit.record(session, caller, "document.validation_data", f"document:{document_id}",
                     {"seq": base_seq + 1, "sha256": ref.sha256, "size": ref.size, "signatures": added})
        uow.commit()
        return revision
