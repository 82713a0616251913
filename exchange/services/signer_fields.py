"""Signer fields from the signature (issue 8, item 6).

What recipients read as ``signer_name`` and ``signer_position`` is what the person
signature's certificate says (its CN and its ``title`` attribute, as ``certs.issuance``
writes them), not what a clerk typed at upload: a typed value that disagrees is replaced,
and the signature response tells the clerk in ``notices``. A certificate without a title
leaves the typed position as it is.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from exchange.models import Document
from translations import _l

NOTICE_CODES = ("signer_name_replaced", "signer_position_replaced", "signer_name_set", "signer_position_set")


@dataclass(frozen=True)
class CertifiedSigner:
    """The signer as the person signature's certificate names them."""
    name: str
    position: str


def _same(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFC", s).casefold().split())
    return norm(a) == norm(b)


def adopt(document: Document, signer: CertifiedSigner) -> list[dict[str, Any]]:
    """Set the document's signer fields from the certificate; one notice per field whose
    typed value was replaced (or that was empty and is now filled). Values that differ only
    in case, spacing or Unicode form are the same value: no notice, the certificate's
    spelling kept."""
    notices: list[dict[str, Any]] = []
    for field, value in (("signer_name", signer.name.strip()), ("signer_position", signer.position.strip())):
        if not value:
            continue  # the certificate says nothing: what was typed stands
        typed = getattr(document, field) or ""
        if typed == value:
            continue
        if typed and not _same(typed, value):
            notices.append({"code": f"{field}_replaced", "field": field, "typed": typed, "value": value,
                            "message": _l("%(field)s \"%(typed)s\" differs from the signature's certificate: "
                                          "replaced by \"%(value)s\"", field=field, typed=typed, value=value)})
        elif not typed:
            notices.append({"code": f"{field}_set", "field": field, "typed": "", "value": value,
                            "message": _l("%(field)s taken from the signature's certificate: \"%(value)s\"",
                                          field=field, value=value)})
        setattr(document, field, value)
    return notices
