"""The seal on attachments: a PDF gets a PAdES signature stamped (text only) at the top right of
page 1, any other file a detached CMS (.p7s) that an independent verifier (openssl cms) accepts."""
from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from signing.attachments import first_page_top_right, reference_line, seal_pdf, sign_detached, verify_detached
from tests.pdfs import make_pdf
from tests.pdfsig import cades, make_nss_db, pdfsig
from tests.signing_pki import SigningPKI, person, seal, signing_pki  # noqa: F401 (fixtures)

POPPLER = bool(shutil.which("pdfsig") and shutil.which("certutil") and shutil.which("pdftotext"))


def _top_right_text(data: bytes, tmp_path: Path, page: int = 1) -> str:
    """pdftotext of the stamp's area only (A4: the box first_page_top_right gives, in pixels at 72 dpi)."""
    x1, y1, x2, y2 = first_page_top_right((0, 0, 595.28, 841.89))
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-x", str(x1), "-y", str(842 - y2),
                          "-W", str(x2 - x1), "-H", str(y2 - y1), str(path), "-"],
                         capture_output=True, check=True, text=True)
    return out.stdout


@pytest.mark.skipif(not POPPLER, reason="poppler-utils and libnss3-tools are needed")
def test_a_pdf_attachment_is_sealed_on_the_first_page_top_right(signing_pki, seal, tmp_path):  # type: ignore[no-untyped-def]
    original = make_pdf(pages=2)
    assert "Số:" not in _top_right_text(original, tmp_path)
    result = seal_pdf(io.BytesIO(original), seal, reference=reference_line("12", "UBND-VP"), level="B-LT",
                      timestamper=signing_pki.timestamper(), validation_context=signing_pki.validation_context())
    data = result.data()
    assert data.startswith(original)  # an incremental update: the attachment's own bytes are kept
    stamp = _top_right_text(data, tmp_path)
    assert "Số: 12/UBND-VP" in stamp
    assert result.signing_time.isoformat() in stamp.replace("\n", "")  # ISO 8601, +07:00
    assert "+07:00" in stamp
    assert "Số: 12/UBND-VP" not in _top_right_text(data, tmp_path, page=2)

    nss = make_nss_db(tmp_path / "nss", signing_pki.write_root_pem(tmp_path / "root.pem"))
    blocks = cades(pdfsig(nss, data, tmp_path))
    assert len(blocks) == 1
    assert blocks[0]["Signature Validation"] == "Signature is Valid."
    assert blocks[0]["Certificate Validation"] == "Certificate is Trusted."


def test_the_pdf_seal_needs_a_seal_credential(signing_pki, person):  # type: ignore[no-untyped-def]
    from errors import Unprocessable

    with pytest.raises(Unprocessable):
        seal_pdf(io.BytesIO(make_pdf()), person, reference="", level="B-B")


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is needed")
def test_a_detached_cms_verifies_in_openssl_and_here(signing_pki, seal, tmp_path):  # type: ignore[no-untyped-def]
    data = "Bảng kê kinh phí;Số tiền\nVĩnh Long;1.000.000\n".encode()
    p7s = sign_detached(io.BytesIO(data), seal, timestamper=signing_pki.timestamper())
    (tmp_path / "f.csv").write_bytes(data)
    (tmp_path / "f.csv.p7s").write_bytes(p7s)
    root = signing_pki.write_root_pem(tmp_path / "root.pem")
    ok = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "f.csv.p7s"),
                         "-content", str(tmp_path / "f.csv"), "-CAfile", str(root), "-purpose", "any",
                         "-out", "/dev/null"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    printed = subprocess.run(["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in",
                              str(tmp_path / "f.csv.p7s")], capture_output=True, text=True, check=True).stdout
    assert "signingTime" in printed and "id-smime-aa-timeStampToken" in printed  # time, and its TSA proof

    result = verify_detached(io.BytesIO(data), p7s, signing_pki.validation_context())
    assert (result.indication, result.intact, result.valid, result.trusted) == ("PASSED", True, True, True)
    assert result.signing_time is not None and result.signer.organization

    tampered = verify_detached(io.BytesIO(data + b"x"), p7s, signing_pki.validation_context())
    assert (tampered.indication, tampered.sub_indication, tampered.intact) == ("FAILED", "HASH_FAILURE", False)
    (tmp_path / "f.csv").write_bytes(data + b"x")
    refused = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                              str(tmp_path / "f.csv.p7s"), "-content", str(tmp_path / "f.csv"), "-CAfile", str(root),
                              "-purpose", "any", "-out", "/dev/null"], capture_output=True, text=True)
    assert refused.returncode != 0

    garbage = verify_detached(io.BytesIO(data), b"not a signature", signing_pki.validation_context())
    assert (garbage.indication, garbage.sub_indication) == ("FAILED", "FORMAT_FAILURE")
