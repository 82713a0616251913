"""The exchange core over real HTTP (werkzeug server thread on 127.0.0.1): a web-session
login, an upload of a multi-megabyte PDF, its download byte for byte, the 413 of an
oversized body (also sent chunked, without a length) in our error shape, and the login
limiter."""
from __future__ import annotations

import hashlib
import io
import json
import threading
from pathlib import Path
from typing import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from settings import Settings
from storage.db import make_engine
from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, World, auth, build_world, make_pdf

pytestmark = pytest.mark.e2e
MAX_MB = 8


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[str, World]]:
    from app import create_app

    engine = make_engine(database_url)
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    engine.dispose()
    app = create_app(Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True,
                              max_upload_mb=MAX_MB))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", world
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["lienthong.engine"].dispose()


def _big_pdf(megabytes: int) -> bytes:
    """A valid PDF padded with a comment block before the body (still parses: comments)."""
    pdf = make_pdf("tệp lớn")
    header_end = pdf.index(b"\n", pdf.index(b"\n") + 1) + 1
    padding = b"%" + b"x" * 1022 + b"\n"  # 1 KiB
    body = pdf[header_end:]
    padded = pdf[:header_end] + padding * (megabytes * 1024) + body
    # shift the xref offsets by the padding's length
    shift = len(padded) - len(pdf)
    head, _, rest = padded.rpartition(b"xref\n")
    lines = rest.split(b"\n")
    fixed = [lines[0], lines[1]] + [b"%010d 00000 n " % (int(line[:10]) + shift) if line.endswith(b" n ") else line
                                    for line in lines[2:]]
    out = head + b"xref\n" + b"\n".join(fixed)
    start = int(out.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    return out.replace(b"startxref\n%d\n" % start, b"startxref\n%d\n" % (start + shift))


def test_login_upload_download_over_http(served):
    url, world = served
    web = requests.Session()
    login = web.post(f"{url}/api/v1/session", json={"username": "vanthu.tinh", "password": world.password}, timeout=10)
    assert login.status_code == 200
    assert "HttpOnly" in login.headers["Set-Cookie"] and "SameSite=Lax" in login.headers["Set-Cookie"]

    pdf = _big_pdf(5)
    assert len(pdf) > 5 * 1024 * 1024
    # a change through the session's cookie carries its CSRF token (exchange/http/security.py)
    r = web.post(f"{url}/api/v1/documents", files={"file": ("lon.pdf", io.BytesIO(pdf), "application/pdf")},
                 data={"metadata": json.dumps(DOCUMENT_METADATA)}, headers={"X-CSRFToken": login.json()["csrf_token"]},
                 timeout=60)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["sha256"] == hashlib.sha256(pdf).hexdigest()

    got = requests.get(f"{url}{doc['revisions'][0]['content_url']}", headers=auth(world.token("signer")),
                       timeout=60, stream=True)
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/pdf"
    assert got.headers["ETag"] == f'"{doc["sha256"]}"' and int(got.headers["Content-Length"]) == len(pdf)
    assert got.raw.read() == pdf
    assert requests.get(f"{url}/api/v1/documents/{doc['id']}", headers=auth(world.token("other_clerk")),
                        timeout=10).status_code == 404
    assert web.delete(f"{url}/api/v1/session", timeout=10).status_code == 204
    assert web.get(f"{url}/api/v1/documents/{doc['id']}", timeout=10).status_code == 401


def test_oversized_bodies_get_413_in_our_shape(served):
    url, world = served
    big = b"%PDF-1.7\n" + b"0" * ((MAX_MB + 2) * 1024 * 1024)
    r = requests.post(f"{url}/api/v1/documents", headers=auth(world.token("clerk")),
                      files={"file": ("a.pdf", io.BytesIO(big), "application/pdf")},
                      data={"metadata": json.dumps(DOCUMENT_METADATA)}, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunked():  # no Content-Length: the limit is enforced while reading
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n'
        for _ in range((MAX_MB + 2) * 16):
            yield b"0" * 65536
        yield b"\r\n--b--\r\n"

    r = requests.post(f"{url}/api/v1/documents", data=chunked(), timeout=60,
                      headers={**auth(world.token("clerk")), "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    listed = requests.get(f"{url}/api/v1/documents", headers=auth(world.token("clerk")), timeout=10).json()
    assert listed["items"] == []


def test_login_limit_over_http(served):
    url, world = served
    for _ in range(5):
        assert requests.post(f"{url}/api/v1/session", json={"username": "lanhdao.tinh", "password": "sai"},
                             timeout=10).status_code == 401
    r = requests.post(f"{url}/api/v1/session", json={"username": "lanhdao.tinh", "password": world.password},
                      timeout=10)
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_requests"
