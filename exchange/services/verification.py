"""Verifying signatures for anyone who may read a file: any PDF sent in, or a stored
revision the caller may read. The report is ``signing.verify``'s, run in a killable worker
process (``signing.isolation``) under the settings' time and memory budget, against the
trust anchors loaded at start-up; then our own CA's current revocation state is applied
(``signing.revocation``) and each untrusted or self-signed chain is logged once."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from certs.revocation import CredentialRevocations
from exchange.adapters import metrics
from exchange.domain.caller import Caller
from exchange.services import attachments
from exchange.services.documents import pick_revision, readable
from exchange.services.pdf_check import require_pdf_header
from signing.logs import log_untrusted_chains
from signing.report import DocumentIdentity, Indication, Report, worse
from signing.revocation import apply_own_revocations
from storage.blobs import read_bytes

if TYPE_CHECKING:
    from bootstrap import Services


def verify_upload(svc: "Services", stream: BinaryIO, file_name: str | None = None) -> Report:
    """415 unless the file starts like a PDF; then the verifier judges everything else."""
    require_pdf_header(stream)
    return _verify(svc, stream.read(), DocumentIdentity(file_name=file_name or None))


def verify_stored(svc: "Services", caller: Caller, document_id: int, seq: int | None) -> Report:
    """The latest revision the caller may read, or revision ``seq``."""
    with svc.uow() as uow:
        document, revisions = readable(uow.session, caller, document_id)
        revision = pick_revision(revisions, seq)
        identity = DocumentIdentity(file_name=f"{document_id}-{revision.seq}.pdf", document_id=document_id,
                                    revision=revision.seq, number=document.number or None,
                                    notation=document.notation or None, subject=document.subject or None)
        blob = revision.blob_sha256
    return _verify(svc, read_bytes(svc.blobs, blob), identity)


def _verify(svc: "Services", data: bytes, identity: DocumentIdentity) -> Report:
    started = time.monotonic()
    report = svc.verifier.verify(data, trust_roots=svc.trust.roots(), time_budget_s=svc.settings.verify_time_budget_s,
                                 max_rendered_pages=svc.settings.verify_max_rendered_pages)
    metrics.VERIFICATION_DURATION.labels(str(report.indication)).observe(time.monotonic() - started)
    report = apply_own_revocations(report, CredentialRevocations(svc.engine, svc.pki))
    log_untrusted_chains(report, identity.file_name)
    return replace(report, document=identity)


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
