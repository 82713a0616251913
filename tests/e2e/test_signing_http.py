"""Signing over real HTTP (werkzeug server thread on 127.0.0.1): upload → person signature
(signer) → seal (clerk); the stored file verifies with our verifier and with poppler's
pdfsig; the service never calls its own /pki endpoints while it signs."""
from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from werkzeug.serving import make_server

from certs.trust import trust_roots
from settings import Settings
from signing.verify import verify
from storage.db import make_engine
from tests.exchange_fixtures import DOCUMENT_METADATA, make_pdf
from tests.pdfsig import cades, make_nss_db, pdfsig
from tests.signing_world import SigningWorld, build_signing_world, issue_held_key, record_held_key

pytestmark = pytest.mark.e2e


class Live:
    def __init__(self, url: str, app: Any, settings: Settings, paths: list[str]) -> None:
        self.url, self.app, self.settings, self.paths = url, app, settings, paths


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[Live]:
    from app import create_app

    holder: dict[str, Any] = {}
    paths: list[str] = []

    def wsgi(environ, start_response):  # type: ignore[no-untyped-def]
        paths.append(environ["PATH_INFO"])  # every request the server sees, in order
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # base_url is the live address: the certificates' OCSP/CRL URLs point at this very server
    settings = Settings(data_dir=tmp_path / "var", database_url=database_url, base_url=url, testing=True)
    holder["app"] = create_app(settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(url, holder["app"], settings, paths)
    finally:
        server.shutdown()
        thread.join(5)
        holder["app"].extensions["lienthong.engine"].dispose()


def _nss_db(live: Live, folder: Path) -> Path:
    """An NSS database trusting our root, as fetched by an outsider from GET /pki/ca.pem."""
    chain = requests.get(f"{live.url}/pki/ca.pem", timeout=10)
    assert chain.status_code == 200
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\s*", chain.content, re.S)
    folder.mkdir(parents=True, exist_ok=True)
    root = folder / "root.pem"
    root.write_bytes(blocks[-1])  # issuing CA first, root last
    return make_nss_db(folder, root, "lienthong-root")


def _pdfsig(nss: Path, data: bytes, folder: Path) -> list[dict[str, str]]:
    return cades(pdfsig(nss, data, folder))


def _assert_valid_in_pdfsig(live: Live, data: bytes, folder: Path) -> None:
    blocks = _pdfsig(_nss_db(live, folder / "nss"), data, folder)
    assert [b["Signature Field Name"] for b in blocks] == ["Person1", "Seal2"]
    for block in blocks:
        assert block["Signature Validation"] == "Signature is Valid.", block
        assert block["Certificate Validation"] == "Certificate is Trusted.", block


def _upload(live: Live, sw: SigningWorld, text: str) -> int:
    r = requests.post(f"{live.url}/api/v1/documents", headers=sw.headers("clerk"), timeout=30,
                      files={"file": ("van-ban.pdf", make_pdf(text, pages=2), "application/pdf")},
                      data={"metadata": json.dumps(DOCUMENT_METADATA)})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _register(live: Live, sw: SigningWorld, doc_id: int) -> requests.Response:
    return requests.post(f"{live.url}/api/v1/documents/{doc_id}/register", headers=sw.headers("clerk"), json={},
                         timeout=60)


def _sign(live: Live, sw: SigningWorld, doc_id: int, who: str, **body: Any) -> requests.Response:
    return requests.post(f"{live.url}/api/v1/documents/{doc_id}/signatures", headers=sw.headers(who),
                         json=body, timeout=60)


needs_pdfsig = pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("certutil")),
                                  reason="poppler-utils (pdfsig) and libnss3-tools (certutil) are needed")


@needs_pdfsig
def test_sign_and_seal_over_http_verify_here_and_in_pdfsig(live, tmp_path):
    engine = make_engine(live.settings.effective_database_url)
    sw = build_signing_world(engine, live.settings)
    engine.dispose()
    doc_id = _upload(live, sw, "Quyết định ký số qua HTTP")

    live.paths.clear()
    person = _sign(live, sw, doc_id, "signer", profile="person")
    assert person.status_code == 201, person.text
    assert _register(live, sw, doc_id).status_code == 200
    sealed = _sign(live, sw, doc_id, "clerk", profile="seal", level="B-LTA")
    assert sealed.status_code == 201, sealed.text
    # OCSP, CRL and TSA of our own CA were answered in-process: no request to ourselves
    assert not [p for p in live.paths if p.startswith("/pki/")], live.paths
    assert sealed.json()["document"]["state"] == "sealed"

    data = requests.get(f"{live.url}/api/v1/documents/{doc_id}/content", headers=sw.headers("clerk"), timeout=30)
    assert data.status_code == 200 and data.headers["ETag"] == f'"{sealed.json()["revision"]["sha256"]}"'
    report = verify(data.content, trust_roots=trust_roots(live.settings))
    assert report.indication == "PASSED", report.to_json()

    _assert_valid_in_pdfsig(live, data.content, tmp_path)

    # the service's own verification endpoint agrees
    checked = requests.get(f"{live.url}/api/v1/documents/{doc_id}/verification", headers=sw.headers("auditor"),
                           timeout=60)
    assert checked.status_code == 200 and checked.json()["indication"] == "PASSED", checked.text

    # refusals over the wire: a seal with no person signature; another agency's clerk
    other_doc = _upload(live, sw, "Chưa ký")
    refused = _sign(live, sw, other_doc, "clerk", profile="seal")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "seal_refused"
    assert _sign(live, sw, doc_id, "other_clerk", profile="seal").status_code == 404
    doc = requests.get(f"{live.url}/api/v1/documents/{other_doc}", headers=sw.headers("clerk"), timeout=10).json()
    assert doc["state"] == "draft" and len(doc["revisions"]) == 1


@needs_pdfsig
def test_remote_signing_over_http(live, tmp_path):
    engine = make_engine(live.settings.effective_database_url)
    sw = build_signing_world(engine, live.settings, "seal")
    engine.dispose()
    held = issue_held_key(live.settings, full_name="Trần Văn Ánh", agency_code=sw.world.province,
                          agency_name="UBND tỉnh Thử Nghiệm")
    engine = make_engine(live.settings.effective_database_url)
    record_held_key(engine, held, "lanhdao.tinh")  # as our CA does for what it issues: pdfsig asks its OCSP
    engine.dispose()
    doc_id = _upload(live, sw, "Ký từ xa")
    prepared = requests.post(f"{live.url}/api/v1/documents/{doc_id}/signatures/prepare", headers=sw.headers("signer"),
                             json={"certificate": held.pem, "profile": "person"}, timeout=60)
    assert prepared.status_code == 201, prepared.text
    p = prepared.json()
    done = requests.post(f"{live.url}/api/v1/signing-sessions/{p['session_id']}/complete",
                         headers=sw.headers("signer"), json={"signature": held.sign_digest(p["digest"])}, timeout=60)
    assert done.status_code == 201, done.text
    assert _register(live, sw, doc_id).status_code == 200
    assert _sign(live, sw, doc_id, "clerk", profile="seal").status_code == 201
    data = requests.get(f"{live.url}/api/v1/documents/{doc_id}/content", headers=sw.headers("clerk"), timeout=30)
    report = verify(data.content, trust_roots=trust_roots(live.settings))
    assert report.indication == "PASSED" and len(report.signatures) == 2, report.to_json()
    _assert_valid_in_pdfsig(live, data.content, tmp_path)
