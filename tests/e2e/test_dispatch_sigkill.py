"""The app (gunicorn, a real process) SIGKILLed in the middle of a dispatch to Vietnam's
3,321 communes: before its commit (every delivery written in the open transaction) or after
it (the answer not yet sent). Afterwards all or none of the deliveries exist, never some; the
client's retry with the same Idempotency-Key completes the dispatch exactly once (one
dispatch, 3,321 deliveries, every commune's inbox seq 1: no counter moved twice or left a
gap); the audit chain verifies. SQLite and PostgreSQL (``LIENTHONG_TEST_DATABASE_URL``)."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from exchange.adapters.audit_log import verify_chain
from exchange.models import AuditEvent, Delivery, Dispatch
from exchange.services import accounts
from storage.db import make_engine
from tests.db import session_scope
from tests.e2e.fault_apps import PAUSE_AT, PAUSE_FILE
from tests.e2e.gunicorn_support import gunicorn
from tests.exchange_fixtures import auth
from tests.national import COMMUNES, ROOT, build_nation

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KEY = "toan-quoc-2026"
BODY = {"children_of": ROOT, "level": "commune"}


def _wait_for(path: Path, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the worker never reached the pause point"
        time.sleep(0.05)
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _counts(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        def count(model: Any, *where: Any) -> int:
            return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()

        return (count(Dispatch), count(Delivery),
                count(AuditEvent, AuditEvent.action == "document.dispatch"))


@pytest.mark.parametrize("point", ["dispatch_before_commit", "dispatch_after_commit"])
def test_sigkill_mid_dispatch_leaves_all_or_nothing_and_a_retry_completes_once(
        tmp_path: Path, database_url: str, point: str) -> None:
    engine = make_engine(database_url)
    with session_scope(engine, write=True) as session:
        nation = build_nation(session)
        _, secret = accounts.add_token(session, agency_id=nation.root_id, name="system", actor="test")
    flag = tmp_path / "paused.json"
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var"), "LIENTHONG_DATABASE_URL": database_url,
           PAUSE_AT: point, PAUSE_FILE: str(flag)}
    url_path = f"/api/v1/documents/{nation.document_id}/dispatches"
    headers = {**auth(secret), "Idempotency-Key": KEY}
    with gunicorn("tests.e2e.fault_apps:paused_app()", env, workers=1) as base:
        seen: list[Any] = []

        def send() -> None:
            try:
                seen.append(requests.post(base + url_path, json=BODY, headers=headers, timeout=120))
            except requests.RequestException as exc:
                seen.append(exc)

        client = threading.Thread(target=send)
        client.start()
        paused = _wait_for(flag, 120)
        if point == "dispatch_before_commit":
            assert paused["uncommitted_deliveries"] == COMMUNES  # the kill lands mid-transaction
        else:
            assert paused["committed_deliveries"] == COMMUNES
        os.kill(paused["pid"], signal.SIGKILL)
        client.join(30)
        # what the client saw: the connection closed without an answer
        assert len(seen) == 1 and isinstance(seen[0], requests.ConnectionError), seen
        # all or nothing
        assert _counts(engine) == ((0, 0, 0) if point == "dispatch_before_commit" else (1, COMMUNES, 1))

        retry = None
        deadline = time.monotonic() + 60  # gunicorn's master starts a new worker
        while retry is None:
            try:
                retry = requests.post(base + url_path, json=BODY, headers=headers, timeout=120)
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "no worker came back"
                time.sleep(0.3)
        assert retry.status_code == (201 if point == "dispatch_before_commit" else 200), retry.text
        again = requests.post(base + url_path, json=BODY, headers=headers, timeout=120)
        assert again.status_code == 200 and again.json() == retry.json()
        assert len(retry.json()["deliveries"]) == COMMUNES
    assert _counts(engine) == (1, COMMUNES, 1)  # exactly once
    with engine.connect() as conn:
        seqs = conn.execute(sa.select(Delivery.seq, sa.func.count()).group_by(Delivery.seq)).all()
    assert [tuple(row) for row in seqs] == [(1, COMMUNES)]  # each inbox counter moved once: no gap
    with session_scope(engine) as session:
        chain = verify_chain(session)
    assert chain.ok and chain.checked > 0, chain
    engine.dispose()
