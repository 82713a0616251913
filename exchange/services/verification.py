"""Verifying signatures for anyone who may read a file: any PDF sent in, or a stored
revision the caller may read. The report is ``signing.verify``'s, against the trust anchors
loaded at start-up."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from exchange.domain.caller import Caller
from exchange.services import attachments
from exchange.services.documents import pick_revision, readable
from exchange.services.pdf_check import require_pdf_header
from signing.report import Indication, Report, worse
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


@dataclass(frozen=True)
class StoredReport:
    """A stored document's report: its file's, and one per attachment. ``indication`` stays
    the main file's (what other programs read); ``overall_indication`` is the worst of all."""
    report: Report
    attachments: list[dict[str, Any]]
    overall: Indication

    def to_json(self) -> dict[str, Any]:
        return {**self.report.to_json(), "attachments": self.attachments, "overall_indication": self.overall}


def verify_stored_with_attachments(svc: "Services", caller: Caller, document_id: int,
                                   seq: int | None) -> StoredReport:
    """``GET /documents/{id}/verification``: the revision's report and its attachments'."""
    report = verify_stored(svc, caller, document_id, seq)
    entries, worst = attachments.verify_all(svc, caller, document_id)
    overall = report.indication if worst is None else worse(report.indication, worst)
    return StoredReport(report, entries, overall)
