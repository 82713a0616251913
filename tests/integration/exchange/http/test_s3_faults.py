"""A slow or hung S3 fails fast: every file request and ``/readyz`` answer 503
``storage_unavailable`` with ``Retry-After`` within ~10 s (the old cost: 180 s) — against a
real hung server on 127.0.0.1 and the moto S3 server behind a proxy that hangs or cuts its
answers; a download already streaming is cut cleanly (fewer bytes than Content-Length); an
upload retried with its Idempotency-Key across an outage makes one document."""
from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from exchange.models import Document
from settings import S3Settings
from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, build_world, make_pdf
from tests.faults import FaultyProxy, faulty_proxy, hung_server, served
from tests.s3server import S3Endpoint, moto_s3_server

FAIL_WITHIN_S = 10.0
BIG_PDF = make_pdf("Công văn lớn " * 200, pages=700)  # ~2.4 MB: several reads from S3


@pytest.fixture(scope="module")
def moto() -> Iterator[S3Endpoint]:
    with moto_s3_server() as endpoint:
        yield endpoint


def _app(settings: Any, endpoint: str, bucket: str) -> Flask:
    from app import create_app

    s3 = S3Settings(endpoint=endpoint, access_key="moto-access", secret_key="moto-secret", bucket=bucket)
    return create_app(settings.with_changes(s3=s3))


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _upload(client: Any, headers: dict[str, str], pdf: bytes, key: str | None = None) -> Any:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/documents", headers={**headers, **extra}, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf), "a.pdf"), "metadata": json.dumps(DOCUMENT_METADATA)})


def _assert_unavailable_fast(response: Any, elapsed: float) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "storage_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed < FAIL_WITHIN_S, f"took {elapsed:.1f} s"


def _documents(engine: Any) -> int:
    with session_scope(engine) as s:
        return s.exec(sa.select(sa.func.count()).select_from(Document)).scalar_one()


def test_a_hung_s3_server_fails_every_file_request_fast(settings, engine):
    with hung_server() as endpoint:
        app = _app(settings, endpoint, "lt-hung")
        try:
            with session_scope(engine, write=True) as s:
                world = build_world(s)
            client = app.test_client()
            ready, elapsed = _timed(lambda: client.get("/readyz"))
            assert ready.status_code == 503 and ready.get_json()["checks"]["blob_store"] == "unavailable"
            assert ready.headers["Retry-After"] and elapsed < FAIL_WITHIN_S, elapsed
            upload, elapsed = _timed(lambda: _upload(client, world.headers("clerk"), make_pdf("treo")))
            _assert_unavailable_fast(upload, elapsed)
            assert _documents(engine) == 0  # nothing half-made
        finally:
            app.extensions["lienthong.services"].close()


@pytest.fixture
def live(settings: Any, engine: Any, moto: S3Endpoint, tmp_path: Path) -> Iterator[tuple[str, FaultyProxy, Any]]:
    """The app served over real HTTP, its S3 the moto server behind a faulty proxy."""
    with faulty_proxy(moto.endpoint) as proxy:
        app = _app(settings, proxy.endpoint, f"lt-{tmp_path.name[-20:].lower().replace('_', '-')}")
        with session_scope(engine, write=True) as s:
            world = build_world(s)
        try:
            with served(app) as base:
                yield base, proxy, world
        finally:
            proxy.hang = False
            proxy.close()
            app.extensions["lienthong.services"].close()


def test_s3_hanging_mid_request_fails_fast_and_an_idempotent_retry_makes_one_document(live, engine):
    base, proxy, world = live
    headers = {**world.headers("clerk"), "Idempotency-Key": "qua-su-co"}
    files = {"file": ("a.pdf", make_pdf("qua sự cố"), "application/pdf")}
    form = {"metadata": json.dumps(DOCUMENT_METADATA)}
    assert requests.get(f"{base}/readyz", timeout=30).status_code == 200  # the bucket is made
    proxy.hang = True
    for _ in range(3):  # the client retries through the outage
        r, elapsed = _timed(lambda: requests.post(f"{base}/api/v1/documents", headers=headers, files=files,
                                                  data=form, timeout=30))
        assert r.status_code == 503 and r.json()["error"]["code"] == "storage_unavailable", r.text
        assert int(r.headers["Retry-After"]) > 0 and elapsed < FAIL_WITHIN_S, elapsed
    ready, elapsed = _timed(lambda: requests.get(f"{base}/readyz", timeout=30))
    assert ready.status_code == 503 and "Retry-After" in ready.headers and elapsed < FAIL_WITHIN_S
    proxy.hang = False
    first = requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=30)
    again = requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=30)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert _documents(engine) == 1


def test_a_download_whose_s3_dies_mid_stream_is_cut_short(live):
    base, proxy, world = live
    up = requests.post(f"{base}/api/v1/documents", headers=world.headers("clerk"), timeout=30,
                       files={"file": ("a.pdf", BIG_PDF, "application/pdf")},
                       data={"metadata": json.dumps(DOCUMENT_METADATA)})
    assert up.status_code == 201, up.text
    proxy.cut_after(1_500_000)  # S3 sends 1.5 MB of the 2.4 MB, then nothing, connection open
    started = time.monotonic()
    r = requests.get(f"{base}/api/v1/documents/{up.json()['id']}/content", headers=world.headers("clerk"),
                     stream=True, timeout=30)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(BIG_PDF)
    received = bytearray()
    with pytest.raises(requests.exceptions.RequestException):
        for chunk in r.iter_content(65536):
            received += chunk
    elapsed = time.monotonic() - started
    assert 0 < len(received) < len(BIG_PDF)  # what every client can tell: fewer bytes than announced
    assert BIG_PDF.startswith(bytes(received))  # and nothing but the file's own bytes
    assert elapsed < FAIL_WITHIN_S + 5, elapsed


def test_a_client_that_gave_up_gets_the_answer_the_server_finished(live, engine):
    """S3 slow (1.5 s) and the client impatient (0.5 s): the client gives up, the server
    finishes the upload; the retry with the same key gets that upload, not a second one."""
    base, proxy, world = live
    headers = {**world.headers("clerk"), "Idempotency-Key": "sot-ruot"}
    files = {"file": ("a.pdf", make_pdf("khách bỏ đi"), "application/pdf")}
    form = {"metadata": json.dumps(DOCUMENT_METADATA)}
    assert requests.get(f"{base}/readyz", timeout=30).status_code == 200
    proxy.hang = True
    threading.Timer(1.5, setattr, (proxy, "hang", False)).start()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=(5, 0.5))
    deadline = time.monotonic() + 10
    while _documents(engine) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    # (if the answer is not stored yet, the retry waits for it: a twin of a running request)
    retry = requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=30)
    assert retry.status_code == 201 and retry.headers.get("Idempotent-Replayed") == "true", retry.text
    assert _documents(engine) == 1
