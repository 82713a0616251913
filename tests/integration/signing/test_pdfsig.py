"""Independent verifier: poppler's pdfsig (NSS) accepts our signatures, and not a tampered file."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from signing.sign import sign
from tests.pdfs import make_pdf
from tests.pdfsig import cades, make_nss_db, pdfsig
from tests.signing_pki import SigningPKI, person, seal, signing_pki  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("certutil")),
                                reason="poppler-utils (pdfsig) and libnss3-tools (certutil) are needed")


@pytest.fixture(scope="module")
def nss_db(signing_pki: SigningPKI, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    db = tmp_path_factory.mktemp("nssdb")
    return make_nss_db(db, signing_pki.write_root_pem(db / "root.pem"))


def test_person_and_seal_are_valid_and_trusted_in_pdfsig(signing_pki, person, seal, nss_db, tmp_path):  # type: ignore[no-untyped-def]
    first = sign(io.BytesIO(make_pdf()), person, level="B-LT", timestamper=signing_pki.timestamper(),
                 validation_context=signing_pki.validation_context())
    blocks = cades(pdfsig(nss_db, first.data(), tmp_path))
    assert [b["Signature Field Name"] for b in blocks] == ["Person1"]
    assert blocks[0]["Signature Validation"] == "Signature is Valid."

    sealed = sign(io.BytesIO(first.data()), seal, profile="seal", level="B-LTA", timestamper=signing_pki.timestamper(),
                  validation_context=signing_pki.validation_context())
    blocks = cades(pdfsig(nss_db, sealed.data(), tmp_path))
    assert [b["Signature Field Name"] for b in blocks] == ["Person1", "Seal2"]
    for block in blocks:
        assert block["Signature Validation"] == "Signature is Valid.", block
        assert block["Certificate Validation"] == "Certificate is Trusted.", block


def test_a_flipped_byte_is_not_valid_in_pdfsig(signing_pki, person, nss_db, tmp_path):  # type: ignore[no-untyped-def]
    data = bytearray(sign(io.BytesIO(make_pdf()), person, level="B-T", timestamper=signing_pki.timestamper()).data())
    i = data.index(b"Dong 12")  # page text, inside the signed byte range
    data[i + 1] ^= 0x20
    blocks = cades(pdfsig(nss_db, bytes(data), tmp_path))
    assert len(blocks) == 1
    assert blocks[0]["Signature Validation"] != "Signature is Valid."
    assert "Mismatch" in blocks[0]["Signature Validation"] or "Invalid" in blocks[0]["Signature Validation"]


def test_a_remote_signature_is_valid_in_pdfsig(signing_pki, nss_db, tmp_path):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    from signing.remote import complete, prepare
    official = signing_pki.issue_person("Võ Thị Sáu", "Giám đốc Sở")
    prepared = prepare(io.BytesIO(make_pdf()), official.pem, level="B-LT", chain=[signing_pki.issuing.asn1],
                       timestamper=signing_pki.timestamper())
    raw = official.key.sign(prepared.digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    done = complete(prepared.session_state, raw, prepared_pdf=prepared.prepared_pdf, timestamper=signing_pki.timestamper(),
                    validation_context=signing_pki.validation_context())
    blocks = cades(pdfsig(nss_db, done.data(), tmp_path))
    assert len(blocks) == 1 and blocks[0]["Signature Validation"] == "Signature is Valid."
    assert blocks[0]["Certificate Validation"] == "Certificate is Trusted."
