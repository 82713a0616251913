"""Attachments over real HTTP (werkzeug server thread on 127.0.0.1): a clerk attaches a PDF and a
spreadsheet to a letter, the leader signs, the clerk seals, the letter goes to a commune; the
commune's system downloads both: poppler's pdfsig finds the sealed PDF valid and its certificate
trusted (asking our OCSP responder over HTTP), openssl accepts the spreadsheet's .p7s."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from werkzeug.http import parse_options_header

from storage.db import make_engine
from tests.e2e.test_signing_http import Live, _nss_db, _pdfsig, _register, _sign, _upload, live  # noqa: F401 (fixture)
from tests.exchange_fixtures import make_pdf
from tests.signing_world import build_signing_world

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdfsig", "certutil", "openssl")),
    reason="poppler-utils (pdfsig), libnss3-tools (certutil) and openssl are needed")]

XLSX_NAME = "Bảng kê kinh phí Đợt 1.xlsx"
XLSX = b"PK\x03\x04" + "không phải Excel thật, chỉ là các byte của một tệp".encode() * 40


def test_a_commune_downloads_sealed_attachments_that_outside_tools_accept(live: Live, tmp_path: Path) -> None:
    engine = make_engine(live.settings.effective_database_url)
    sw = build_signing_world(engine, live.settings)
    engine.dispose()
    doc_id = _upload(live, sw, "Công văn có phụ lục")
    attached = []
    for name, data in (("Phụ lục I.pdf", make_pdf("Phụ lục kèm theo", pages=1)), (XLSX_NAME, XLSX)):
        r = requests.post(f"{live.url}/api/v1/documents/{doc_id}/attachments", headers=sw.headers("clerk"),
                          files={"file": (name, data)}, timeout=30)
        assert r.status_code == 201, r.text
        assert r.json()["name"] == name
        attached.append(r.json())
    assert _sign(live, sw, doc_id, "signer", profile="person").status_code == 201
    assert _register(live, sw, doc_id).status_code == 200
    sealed = _sign(live, sw, doc_id, "clerk", profile="seal")
    assert sealed.status_code == 201, sealed.text
    commune = sw.world.all_communes[0]
    r = requests.post(f"{live.url}/api/v1/documents/{doc_id}/dispatches", json={"to": [commune]}, timeout=30,
                      headers={**sw.headers("clerk"), "Idempotency-Key": "phu-luc-1"})
    assert r.status_code in (200, 201), r.text

    inbox = requests.get(f"{live.url}/api/v1/inbox", headers=sw.headers(commune), timeout=30).json()
    [item] = inbox["items"]
    pdf_att, xlsx_att = item["document"]["attachments"]

    r = requests.get(live.url + pdf_att["content_url"], headers=sw.headers(commune), timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    blocks = _pdfsig(_nss_db(live, tmp_path / "nss"), r.content, tmp_path)
    assert [(b["Signature Validation"], b["Certificate Validation"]) for b in blocks] == [
        ("Signature is Valid.", "Certificate is Trusted.")]

    r = requests.get(live.url + xlsx_att["content_url"], headers=sw.headers(commune), timeout=30)
    assert r.status_code == 200 and r.content == XLSX
    _kind, options = parse_options_header(r.headers["Content-Disposition"])
    assert options["filename"] == XLSX_NAME  # filename* decoded, as a browser would save it
    signature = requests.get(live.url + xlsx_att["signature"]["url"], headers=sw.headers(commune), timeout=30)
    assert signature.status_code == 200
    chain = requests.get(f"{live.url}/pki/ca.pem", timeout=10).content
    root = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\s*", chain, re.S)[-1]
    (tmp_path / "root.pem").write_bytes(root)
    (tmp_path / "f.xlsx").write_bytes(r.content)
    (tmp_path / "f.xlsx.p7s").write_bytes(signature.content)
    checked = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                              str(tmp_path / "f.xlsx.p7s"), "-content", str(tmp_path / "f.xlsx"), "-CAfile",
                              str(tmp_path / "root.pem"), "-purpose", "any", "-out", "/dev/null"],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
