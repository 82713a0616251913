"""Small helpers shared by the certs integration tests."""
from __future__ import annotations

import io

import pypdfium2 as pdfium
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from certs.issuance import issue_person_credential
from certs.models import Credential
from settings import Settings
from tests.db import session_scope

NAME = "Nguyễn Thị Lấp Lánh Ánh"
AGENCY = "Ủy ban nhân dân tỉnh Vĩnh Long"
AGENCY_CODE = "000.00.31.H59"


def blank_pdf() -> bytes:
    doc = pdfium.PdfDocument.new()
    doc.new_page(595, 842)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def issue_person(engine, settings: Settings, username: str = "lanh") -> Credential:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        return issue_person_credential(session, settings, username=username, full_name=NAME,
                                       position="Phó Chủ tịch", agency_code=AGENCY_CODE, agency_name=AGENCY)


def sign_pdf(pdf: bytes, signer: Signer, *, timestamper: TimeStamper | None = None,
             validation_context: ValidationContext | None = None) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name="Sig1", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
        embed_validation_info=validation_context is not None, validation_context=validation_context)
    out = signers.PdfSigner(meta, signer, timestamper=timestamper).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), output=io.BytesIO())
    return out.getvalue()
