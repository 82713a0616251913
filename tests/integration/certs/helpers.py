"""Small helpers shared by the certs integration tests."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from certs.ca import build_certificate, leaf_extensions, name, new_rsa_key
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


@dataclass(frozen=True)
class ForeignP12:
    path: Path
    cert: x509.Certificate
    ca: x509.Certificate


def foreign_p12(path: Path, password: bytes, *, full_name: str = NAME, agency_name: str = AGENCY) -> ForeignP12:
    """A "real CA" credential: issued by some other CA (a root of its own), handed over as a
    password-protected .p12 written to ``path``."""
    ca_key = new_rsa_key()
    ca = build_certificate(subject=name("Other CA"), public_key=ca_key.public_key(), issuer_cert=None,
                           issuer_key=ca_key, days=365,
                           extensions=[(x509.BasicConstraints(ca=True, path_length=0), True)])
    key = new_rsa_key()
    cert = build_certificate(subject=name(full_name, o=agency_name), public_key=key.public_key(), issuer_cert=ca,
                             issuer_key=ca_key, days=30, extensions=leaf_extensions())
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"real", key, cert, [ca], serialization.BestAvailableEncryption(password)))
    return ForeignP12(path, cert, ca)
