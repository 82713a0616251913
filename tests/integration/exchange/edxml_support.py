"""Helpers for the edXML tests: the national samples (read from ``../shared/corpus/vn-edxml``,
never copied) with their agency codes, DocumentId and file rewritten in memory; packages built
with the codec; the security matrix's rows."""
from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

from exchange.edxml import build
from exchange.edxml.model import DocumentPackage, Organ, Part
from tests.exchange_fixtures import make_pdf

ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(os.environ.get("LIENTHONG_EDXML_CORPUS", ROOT.parent / "shared" / "corpus" / "vn-edxml"))
SAMPLES = ("edoc.edxml", "edoc_new.edxml", "edoc_replacement.edxml", "edoc_revocation.edxml", "edoc_update.edxml",
           "status_acceptance_03.edxml", "status_assignment_04.edxml", "status_cancellation_13.edxml",
           "status_change-acceptance_15.edxml", "status_change-rejection_16.edxml", "status_finish_06.edxml",
           "status_inbox_01.edxml", "status_processing_05.edxml", "status_rejection_02.edxml")
SAMPLE_DOCUMENT_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"  # what the status samples answer


def sample(name: str, codes: dict[str, str], *, pdf: bytes | None = None, document_id: str | None = None) -> bytes:
    """The sample ``name`` with each OrganId in ``codes`` replaced (the samples' agencies are in
    no directory), every DocumentId set to ``document_id``, and its files replaced by ``pdf``."""
    path = CORPUS / name
    assert path.is_file(), f"the edXML sample {path} is missing (LIENTHONG_EDXML_CORPUS names another folder)"
    text = path.read_text("utf-8")
    text = re.sub(r"(<edXML:OrganId>)([^<]*)(</edXML:OrganId>)", lambda m: m[1] + codes.get(m[2], m[2]) + m[3], text)
    if document_id is not None:
        text = re.sub(r"(<edXML:DocumentId>)[^<]*(</edXML:DocumentId>)", lambda m: m[1] + document_id + m[2], text)
    if pdf is not None:
        encoded = base64.b64encode(pdf).decode()
        text = re.sub(r"(<edXML:ContentTransferEncoded[^>]*>)[^<]*(</edXML:ContentTransferEncoded>)",
                      lambda m: m[1] + encoded + m[2], text)
        text = text.replace("<ContentType>application/zip</ContentType>", "<ContentType>application/pdf</ContentType>")
    return text.encode("utf-8")


def package(sender: str, to: list[str], *, pdf: bytes | None = None, subject: str = "V/v thử nghiệm edXML",
            number: str = "5", extra: tuple[Part, ...] = ()) -> bytes:
    """A document package built with the codec: From ``sender``, To ``to``, a PDF."""
    return build.build_document(DocumentPackage(
        sender=Organ(sender, name="Cơ quan gửi"), recipients=tuple(Organ(code) for code in to),
        document_id=f"{sender},2026/11/20,{number}/UBND", number=number, notation="UBND", subject=subject,
        type_name="Công văn",
        parts=(Part("cid:1", "van-ban.pdf", "application/pdf", pdf or make_pdf(subject)), *extra)))


def upload(client, headers: dict, data: bytes, filename: str = "goi.edxml"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/edxml", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), filename)})


# --- rows of the security matrix (tests/integration/exchange/http/test_security_matrix.py) -----------

def matrix_import_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    data = package(ctx.world.province, [ctx.world.all_communes[0]])
    return {"data": {"file": (io.BytesIO(data), "goi.edxml")}, "content_type": "multipart/form-data"}
