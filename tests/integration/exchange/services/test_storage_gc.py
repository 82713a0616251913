"""``storage gc`` (exchange.services.storage_gc and its command): unreferenced blobs older than
the grace period go; referenced ones, young ones — an upload in flight — and every kind of
reference stay. On both backends, SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import io
import threading
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from exchange.services.storage_gc import all_references, collect_garbage
from storage.blobs import BlobRef, BlobStore, read_bytes
from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf, upload_via_api
from tests.flask_cli import run_flask
from tests.storage_apps import moto, store_app  # noqa: F401  (fixtures)

DAY = timedelta(hours=24)


class PausedAfterPut:
    """The real store; each put stores its bytes, then waits until the test lets the upload go
    on to its database commit: the window in which the blob exists and nothing refers to it."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self.stored = threading.Event()
        self.go_on = threading.Event()

    def put(self, stream: IO[bytes]) -> BlobRef:
        ref = self._store.put(stream)
        self.stored.set()
        assert self.go_on.wait(30)
        return ref

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_gc_spares_an_upload_in_flight_and_removes_old_orphans(store_app: Any) -> None:
    svc = store_app.extensions["lienthong.services"]
    client = store_app.test_client()
    with session_scope(svc.engine, write=True) as s:
        world = build_world(s)
    orphan = svc.blobs.put(io.BytesIO(b"left by an upload that failed after storing its file"))
    real_store = svc.blobs
    paused = PausedAfterPut(real_store)
    svc.blobs = paused
    pdf = make_pdf("đang tải lên khi dọn kho")
    answers: list[Any] = []
    upload = threading.Thread(target=lambda: answers.append(upload_via_api(client, world.headers("clerk"), pdf=pdf)))
    upload.start()
    try:
        assert paused.stored.wait(30)
        svc.blobs = real_store  # the collector runs as another process would, on the real store
        during = collect_garbage(svc, grace=DAY)
        assert during.removed == [] and during.spared_young == 2  # the orphan is young too
    finally:
        paused.go_on.set()
        upload.join(30)
        svc.blobs = real_store
    assert answers[0].status_code == 201
    in_flight = hashlib.sha256(pdf).hexdigest()
    assert read_bytes(svc.blobs, in_flight) == pdf  # the document's blob survived the race

    # A day later (the clock moved, not the files): the orphan goes, the referenced blob stays.
    later = collect_garbage(svc, grace=DAY, now=datetime.now(timezone.utc) + DAY + timedelta(minutes=1))
    assert later.removed == [orphan.sha256] and later.freed_bytes == orphan.size
    assert later.referenced == 1
    assert not svc.blobs.exists(orphan.sha256)
    assert read_bytes(svc.blobs, in_flight) == pdf
    doc_id = answers[0].get_json()["id"]
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=world.headers("clerk")).data == pdf


def test_every_kind_of_reference_counts(store_app: Any) -> None:
    """A blob named only by a remote-signing session or a paper document's scan is not garbage."""
    import json

    import sqlalchemy as sa

    from exchange.models import RegisterEntry, SigningSession

    svc = store_app.extensions["lienthong.services"]
    client = store_app.test_client()
    with session_scope(svc.engine, write=True) as s:
        world = build_world(s)
    doc = upload_via_api(client, world.headers("clerk")).get_json()
    prepared = svc.blobs.put(io.BytesIO(b"a prepared PDF waiting for its signature"))
    scan = svc.blobs.put(io.BytesIO(b"a scanned paper letter"))
    with svc.engine.begin() as conn:
        conn.execute(sa.insert(SigningSession.__table__).values(  # type: ignore[attr-defined]
            id="s1", document_id=doc["id"], profile="person", level="B-B",
            state=json.dumps({"prepared_pdf": {"sha256": prepared.sha256, "size": prepared.size}}).encode(),
            created_at=datetime.now(timezone.utc), expires_at=datetime.now(timezone.utc)))
        conn.execute(sa.insert(RegisterEntry.__table__).values(  # type: ignore[attr-defined]
            agency_id=world.agency_ids[world.province], kind="incoming", year=2026, number=1, scan_sha256=scan.sha256,
            registered_at=datetime.now(timezone.utc)))
    assert {prepared.sha256, scan.sha256} <= all_references(svc.engine)
    later = collect_garbage(svc, grace=DAY, now=datetime.now(timezone.utc) + 2 * DAY)
    assert later.removed == [] and later.referenced == 3


def test_the_gc_command(app: Any, settings: Any) -> None:
    svc = app.extensions["lienthong.services"]
    svc.blobs.put(io.BytesIO(b"young orphan"))
    done = run_flask(settings, "storage", "gc")
    assert done.returncode == 0, done.stderr
    assert "0" in done.stdout and "24" in done.stdout
    assert svc.blobs.exists(hashlib.sha256(b"young orphan").hexdigest())
    refused = run_flask(settings, "storage", "gc", "--grace", "0")  # would race every upload in flight
    assert refused.returncode == 2 and "--grace" in refused.stderr
