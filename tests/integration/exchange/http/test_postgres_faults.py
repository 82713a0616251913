"""PostgreSQL stopped in the middle of an upload, a dispatch and an ack: a private cluster
(tests/private_postgres.py: initdb into a temporary folder, its own port), stopped with
``pg_ctl -m immediate`` (every server process quits at once, as in a crash) at the moment the
request writes its audit event, i.e. inside its open transaction, then started again. The
client sees 503 ``database_unavailable`` with ``Retry-After``; nothing of the request is in
the database afterwards; the retry (with the same Idempotency-Key) succeeds exactly once;
the audit chain verifies. Runs on any ``LIENTHONG_TEST_DATABASE_URL``: the cluster is its own."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import sqlalchemy as sa

from exchange.adapters.audit_log import verify_chain
from exchange.models import AuditEvent, Delivery, Dispatch, Document, IdempotencyRecord
from exchange.services import audit
from settings import Settings
from storage.db import make_engine
from storage.schema import import_all_models
from tests.conftest import _create_schema
from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, World, build_world, make_pdf
from tests.faults import served
from tests.integration.exchange.delivery_support import sealed_document
from tests.private_postgres import PrivateCluster, private_cluster, unavailable_reason

pytestmark = pytest.mark.slow
REASON = unavailable_reason()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    if REASON:
        pytest.skip(REASON)
    with private_cluster() as made:
        yield made


@pytest.fixture
def live(cluster: PrivateCluster, tmp_path: Path) -> Iterator[tuple[str, World, sa.Engine]]:
    """The app on a new database of the private cluster, over real HTTP; its world."""
    from app import create_app

    if not cluster.running():
        cluster.start()
    url = cluster.new_database()
    engine = make_engine(url)
    _create_schema(engine, import_all_models())
    with session_scope(engine, write=True) as session:
        world = build_world(session)
    app = create_app(Settings(data_dir=tmp_path / "var", database_url=url, testing=True))
    try:
        with served(app) as base:
            yield base, world, engine
    finally:
        app.extensions["lienthong.services"].close()
        engine.dispose()


def _stop_database_at(monkeypatch: pytest.MonkeyPatch, cluster: PrivateCluster, action: str) -> list[str]:
    """Stop the cluster when the request writes its ``action`` audit event (once); the
    actions seen are returned, to prove the stop happened there."""
    record, seen = audit.record, []

    def stopping(session: Any, caller: Any, act: str, *args: Any, **kw: Any) -> Any:
        if act == action and not seen:
            seen.append(act)
            session.flush()  # the request's rows so far are in its open transaction
            cluster.stop("immediate")
        return record(session, caller, act, *args, **kw)

    monkeypatch.setattr(audit, "record", stopping)
    return seen


def _unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def _count(engine: sa.Engine, model: Any, *where: Any) -> int:
    # the test's own pool may hold a connection from before the restart, used too recently
    # to be pinged (storage.db pings only idle ones): start from fresh connections
    engine.dispose()
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def _chain_ok(engine: sa.Engine) -> None:
    engine.dispose()
    with session_scope(engine) as session:
        chain = verify_chain(session)
    assert chain.ok and chain.checked > 0, chain


def test_postgres_stopped_mid_upload(live, cluster, monkeypatch) -> None:
    base, world, engine = live
    seen = _stop_database_at(monkeypatch, cluster, "document.upload")
    headers = {**world.headers("clerk"), "Idempotency-Key": "mat-dien-csdl"}
    files = {"file": ("a.pdf", make_pdf("mất cơ sở dữ liệu"), "application/pdf")}
    form = {"metadata": json.dumps(DOCUMENT_METADATA)}
    _unavailable(requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=60))
    assert seen == ["document.upload"]
    cluster.start()
    assert _count(engine, Document) == 0  # nothing half-written
    # the key this request could not give back while the database was down is given back by
    # the process itself once it answers (a retry reaching another process is not kept waiting)
    deadline = time.monotonic() + 5
    while _count(engine, IdempotencyRecord) != 0:
        assert time.monotonic() < deadline, "the key was never given back"
        time.sleep(0.1)
    first = requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=60)
    assert first.status_code == 201, first.text
    again = requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=60)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert _count(engine, Document) == 1 and _count(engine, IdempotencyRecord) == 1
    assert _count(engine, AuditEvent, AuditEvent.action == "document.upload") == 1
    _chain_ok(engine)


def test_postgres_stopped_mid_dispatch(live, cluster, monkeypatch) -> None:
    base, world, engine = live
    doc = sealed_document(engine, world)
    seen = _stop_database_at(monkeypatch, cluster, "document.dispatch")
    headers = {**world.headers("clerk"), "Idempotency-Key": "gui-khi-mat-csdl"}
    body = {"children_of": world.province, "level": "commune"}
    url = f"{base}/api/v1/documents/{doc}/dispatches"
    _unavailable(requests.post(url, json=body, headers=headers, timeout=60))
    assert seen == ["document.dispatch"]
    cluster.start()
    assert (_count(engine, Dispatch), _count(engine, Delivery)) == (0, 0)
    first = requests.post(url, json=body, headers=headers, timeout=60)
    assert first.status_code == 201, first.text
    again = requests.post(url, json=body, headers=headers, timeout=60)
    assert again.status_code == 200 and again.json() == first.json()
    communes = len(world.all_communes)
    assert (_count(engine, Dispatch), _count(engine, Delivery)) == (1, communes)
    assert _count(engine, Delivery, Delivery.seq == 1) == communes  # no inbox counter moved twice
    _chain_ok(engine)


def test_postgres_stopped_mid_ack(live, cluster, monkeypatch) -> None:
    base, world, engine = live
    doc = sealed_document(engine, world)
    commune = world.all_communes[0]
    sent = requests.post(f"{base}/api/v1/documents/{doc}/dispatches", json={"to": [commune]}, timeout=60,
                         headers={**world.headers("clerk"), "Idempotency-Key": "gui-mot-xa"})
    assert sent.status_code == 201, sent.text
    delivery_id = sent.json()["deliveries"][0]["id"]
    seen = _stop_database_at(monkeypatch, cluster, "delivery.ack")
    url = f"{base}/api/v1/inbox/{delivery_id}/ack"
    _unavailable(requests.post(url, headers=world.headers(commune), timeout=60))
    assert seen == ["delivery.ack"]
    cluster.start()
    engine.dispose()  # as in _count
    with engine.connect() as conn:
        status, receipt = conn.execute(sa.select(Delivery.status, Delivery.receipt)
                                       .where(Delivery.id == delivery_id)).one()
    assert (status, receipt) == ("queued", None)  # no half ack
    first = requests.post(url, headers=world.headers(commune), timeout=60)
    assert first.status_code == 200, first.text
    again = requests.post(url, headers=world.headers(commune), timeout=60)
    assert again.status_code == 200 and again.json()["receipt"] == first.json()["receipt"]
    assert _count(engine, AuditEvent, AuditEvent.action == "delivery.ack") == 1
    _chain_ok(engine)


def test_postgres_stopped_after_an_upload_committed(live, cluster, monkeypatch) -> None:
    """The upload committed, then the database stopped before its answer was kept for the key:
    the client still gets its 201 (the document exists); the answer is kept once the database
    is back, and a retry replays it (before: 503, then 409 for ten minutes, then a second
    document)."""
    from exchange.services import idempotency

    base, world, engine = live
    store, stopped = idempotency.store, []

    def stopping(*args: Any, **kw: Any) -> None:
        stopped.append(True)
        cluster.stop("immediate")
        store(*args, **kw)

    monkeypatch.setattr(idempotency, "store", stopping)
    headers = {**world.headers("clerk"), "Idempotency-Key": "xong-roi-mat-csdl"}
    files = {"file": ("a.pdf", make_pdf("xong rồi mới mất"), "application/pdf")}
    form = {"metadata": json.dumps(DOCUMENT_METADATA)}
    first = requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=60)
    assert first.status_code == 201 and stopped, first.text
    cluster.start()
    again = requests.post(f"{base}/api/v1/documents", headers=headers, files=files, data=form, timeout=60)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.text
    assert again.json() == first.json()
    assert _count(engine, Document) == 1
    _chain_ok(engine)
