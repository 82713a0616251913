"""Verifying signatures for anyone who may read a file: any PDF sent in, or a stored
revision the caller may read. The report is ``signing.verify``'s, against the trust anchors
loaded at start-up."""
from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from exchange.domain.caller import Caller
from exchange.services.documents import pick_revision, readable
from exchange.services.pdf_check import require_pdf_header
from signing.report import Report
from signing.verify import verify
from storage.blobs import read_bytes

if TYPE_CHECKING:
    from bootstrap import Services


def verify_upload(svc: "Services", stream: BinaryIO) -> Report:
    """415 unless the file starts like a PDF; then the verifier judges everything else."""
    require_pdf_header(stream)
    return verify(stream.read(), trust_roots=svc.trust.roots(),
                  max_rendered_pages=svc.settings.verify_max_rendered_pages)


def verify_stored(svc: "Services", caller: Caller, document_id: int, seq: int | None) -> Report:
    """The latest revision the caller may read, or revision ``seq``."""
    with svc.uow() as uow:
        _document, revisions = readable(uow.session, caller, document_id)
        revision = pick_revision(revisions, seq)
    return verify(read_bytes(svc.blobs, revision.blob_sha256), trust_roots=svc.trust.roots(),
                  max_rendered_pages=svc.settings.verify_max_rendered_pages)
