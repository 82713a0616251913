"""S3 (moto's server, a process of its own) KILLED with SIGKILL or HUNG with SIGSTOP at the
moment an upload or a person signature writes its file, and while a document is dispatched
and downloaded. The client sees 503 ``storage_unavailable`` with ``Retry-After`` within
~10 s (a dispatch needs no file: 201); nothing half-written (no document, no revision, no
state change, no ``fetched_at``); once S3 is back (SIGCONT, or started again and its bucket
restored as an operator would from its replica: a killed moto keeps nothing) the retry with
the same Idempotency-Key succeeds exactly once and the audit chain verifies. The hung
upload and a download cut mid-stream are in test_s3_faults.py (a proxy)."""
from __future__ import annotations

import io
import json
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
import sqlalchemy as sa
from minio import Minio

from exchange.adapters.audit_log import verify_chain
from exchange.services.storage_gc import all_references, collect_garbage
from exchange.models import AuditEvent, Delivery, Document, Revision
from settings import S3Settings, Settings
from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, World, make_pdf, store_document
from tests.faults import served
from tests.s3server import MOTO_ACCESS_KEY, MOTO_SECRET_KEY, S3Process, moto_s3_process
from tests.signing_world import build_signing_world, pki_template, seed_pki  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
FAIL_WITHIN_S = 10.0
BUCKET = "lt-process-faults"


class Live:
    def __init__(self, base: str, world: World, app: Any, s3: S3Process, engine: sa.Engine) -> None:
        self.base, self.world, self.app, self.s3, self.engine = base, world, app, s3, engine
        self.blobs = app.extensions["lienthong.services"].blobs

    def raw(self) -> Minio:
        return Minio(self.s3.endpoint, MOTO_ACCESS_KEY, MOTO_SECRET_KEY, secure=False)

    def objects(self) -> dict[str, bytes]:
        raw = self.raw()
        return {o.object_name: raw.get_object(BUCKET, o.object_name).read()
                for o in raw.list_objects(BUCKET, recursive=True) if o.object_name}

    def restart_with(self, objects: dict[str, bytes]) -> None:
        """Start S3 again (empty) and restore the bucket as it was before the kill."""
        self.s3.start()
        raw = self.raw()
        raw.make_bucket(BUCKET, object_lock=True)
        for name, data in objects.items():
            raw.put_object(BUCKET, name, io.BytesIO(data), len(data))

    def fault_at_upload(self, fault: Callable[[], None]) -> list[bool]:
        """``fault()`` when the store starts sending a file to S3 (once)."""
        upload, done = self.blobs._upload, []

        def faulty(*args: Any, **kw: Any) -> Any:
            if not done:
                done.append(True)
                fault()
            return upload(*args, **kw)

        self.blobs._upload = faulty
        return done

    def count(self, model: Any, *where: Any) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()

    def chain_ok(self) -> None:
        with session_scope(self.engine) as session:
            chain = verify_chain(session)
        assert chain.ok and chain.checked > 0, chain


@pytest.fixture
def live(settings: Settings, engine: sa.Engine, pki_template: Path) -> Iterator[Live]:
    from app import create_app

    with moto_s3_process() as s3:
        seed_pki(settings, pki_template)
        s3_settings = S3Settings(endpoint=s3.endpoint, access_key=MOTO_ACCESS_KEY, secret_key=MOTO_SECRET_KEY,
                                 bucket=BUCKET)
        app = create_app(settings.with_changes(s3=s3_settings))
        try:
            world = build_signing_world(engine, settings, "signer").world
            with served(app) as base:
                yield Live(base, world, app, s3, engine)
        finally:
            app.extensions["lienthong.services"].close()


def _timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    return call(), time.monotonic() - started


def _unavailable_fast(response: requests.Response, elapsed: float) -> None:
    print(f"503 in {elapsed:.2f} s")  # the figures in docs/reliability.md
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed < FAIL_WITHIN_S, f"took {elapsed:.1f} s"


def _upload(live: Live, key: str, pdf: bytes) -> requests.Response:
    return requests.post(f"{live.base}/api/v1/documents", timeout=60,
                         headers={**live.world.headers("clerk"), "Idempotency-Key": key},
                         files={"file": ("a.pdf", pdf, "application/pdf")},
                         data={"metadata": json.dumps(DOCUMENT_METADATA)})


def test_s3_killed_mid_upload(live: Live) -> None:
    pdf = make_pdf("S3 chết giữa chừng")
    assert requests.get(f"{live.base}/readyz", timeout=30).status_code == 200  # the bucket is made
    killed = live.fault_at_upload(live.s3.kill)
    _unavailable_fast(*_timed(lambda: _upload(live, "s3-chet", pdf)))
    assert killed and live.count(Document) == 0  # nothing half-made
    live.restart_with({})  # nothing was referenced: an empty bucket is the right one
    first = _upload(live, "s3-chet", pdf)
    assert first.status_code == 201, first.text
    again = _upload(live, "s3-chet", pdf)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json() and live.count(Document) == 1
    content = requests.get(f"{live.base}/api/v1/documents/{first.json()['id']}/content", timeout=30,
                           headers=live.world.headers("clerk"))
    assert content.content == pdf
    live.chain_ok()


def _sign(live: Live, doc_id: int) -> requests.Response:
    return requests.post(f"{live.base}/api/v1/documents/{doc_id}/signatures", json={"profile": "person"},
                         headers={**live.world.headers("signer"), "Idempotency-Key": f"ky-{doc_id}"}, timeout=120)


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_s3_killed_or_hung_mid_signature(live: Live, fault: str) -> None:
    up = _upload(live, "ban-goc", make_pdf("Quyết định ký số", pages=2))
    assert up.status_code == 201, up.text
    doc_id = up.json()["id"]
    before = live.objects()
    faulted = live.fault_at_upload(live.s3.kill if fault == "killed" else lambda: live.s3.signal(signal.SIGSTOP))
    _unavailable_fast(*_timed(lambda: _sign(live, doc_id)))
    assert faulted
    if fault == "killed":
        live.restart_with(before)
    else:
        live.s3.signal(signal.SIGCONT)
    assert live.count(Revision) == 1  # no signed revision, the document still a draft
    with session_scope(live.engine) as session:
        assert session.get(Document, doc_id).state == "draft"  # type: ignore[union-attr]
    first = _sign(live, doc_id)
    assert first.status_code == 201, first.text
    again = _sign(live, doc_id)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert live.count(Revision) == 2 and live.count(Revision, Revision.kind == "signed") == 1
    assert live.count(AuditEvent, AuditEvent.action.startswith("document.sign")) == 1  # type: ignore[attr-defined]
    signed = requests.get(f"{live.base}/api/v1/documents/{doc_id}/content", headers=live.world.headers("clerk"),
                          timeout=30)
    assert signed.status_code == 200 and signed.headers["ETag"] == f'"{first.json()["revision"]["sha256"]}"'
    # the hung attempt's signed file reaches S3 when it resumes: an unreferenced blob, which
    # `storage gc` removes once older than its grace (the referenced ones stay)
    referenced = all_references(live.engine)
    orphans = {name.rsplit("/", 1)[1] for name in live.objects() if name.startswith("sha256/")} - referenced
    assert len(orphans) <= (0 if fault == "killed" else 1), orphans
    svc = live.app.extensions["lienthong.services"]
    collected = collect_garbage(svc, grace=timedelta(hours=1), now=datetime.now(timezone.utc) + timedelta(hours=2))
    assert set(collected.removed) | set(collected.retained) == orphans  # retained: under object lock
    assert all(live.blobs.exists(sha) for sha in referenced)
    live.chain_ok()


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_dispatch_and_download_while_s3_is_killed_or_hung(live: Live, fault: str) -> None:
    pdf = make_pdf("Công văn gửi đi khi S3 hỏng")
    with session_scope(live.engine, write=True) as session:
        doc_id = store_document(session, live.blobs, live.world, pdf=pdf, state="sealed")
    before = live.objects()
    commune = live.world.all_communes[0]
    if fault == "killed":
        live.s3.kill()
    else:
        live.s3.signal(signal.SIGSTOP)
    sent, elapsed = _timed(lambda: requests.post(
        f"{live.base}/api/v1/documents/{doc_id}/dispatches", json={"to": [commune]}, timeout=60,
        headers={**live.world.headers("clerk"), "Idempotency-Key": "gui-khi-s3-hong"}))
    assert sent.status_code == 201 and elapsed < FAIL_WITHIN_S, (sent.text, elapsed)  # a dispatch reads no file
    print(f"dispatch 201 in {elapsed:.2f} s")
    delivery_id = sent.json()["deliveries"][0]["id"]
    url = f"{live.base}/api/v1/documents/{doc_id}/content"
    _unavailable_fast(*_timed(lambda: requests.get(url, headers=live.world.headers(commune), timeout=60)))
    with session_scope(live.engine) as session:
        assert session.get(Delivery, delivery_id).fetched_at is None  # type: ignore[union-attr]
    if fault == "killed":
        live.restart_with(before)
    else:
        live.s3.signal(signal.SIGCONT)
    whole = requests.get(url, headers=live.world.headers(commune), timeout=60)
    assert whole.status_code == 200 and whole.content == pdf
    deadline = time.monotonic() + 5  # recorded by the server just after it sent the last byte
    while live.count(Delivery, Delivery.fetched_at.is_not(None)) == 0:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the whole download was never recorded"
        time.sleep(0.05)
    assert live.count(Delivery) == 1
    live.chain_ok()
