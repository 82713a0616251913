"""200 agencies' systems long-polling do not starve other requests: under gunicorn with the
recommended workers (2 × gevent, docs/deployment.md), a clerk uploads and dispatches while
200 long-polls are parked, and the pollers of the recipient are woken by that dispatch."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from exchange.services import accounts as users
from exchange.models import Agency, Document
from storage.db import make_engine
from tests.db import session_scope
from tests.e2e.gunicorn_support import gunicorn
from tests.exchange_fixtures import DOCUMENT_METADATA, auth, build_world, make_pdf

pytestmark = pytest.mark.e2e
POLLERS = 200
WAIT = 15


def test_200_long_polls_while_a_clerk_uploads_and_dispatches(tmp_path, database_url):
    engine = make_engine(database_url)
    with session_scope(engine, write=True) as session:
        world = build_world(session)
        province = session.get(Agency, world.agency_ids[world.province])
        tokens = []  # 200 agencies of their own, each with its system's token
        for i in range(POLLERS - len(world.all_communes)):
            agency = Agency(code=f"{i:03d}.99.01.H62", name=f"Xã {i}", level="commune", parent_id=province.id)
            session.add(agency)
            session.flush()
            tokens.append(users.add_token(session, agency_id=agency.id, actor="test")[1])
    tokens += [world.agency_tokens[c] for c in world.all_communes]
    target = world.all_communes[0]
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var"), "LIENTHONG_DATABASE_URL": database_url}
    results: list[tuple[str, int, int, float]] = []

    def poll(token: str) -> None:
        started = time.monotonic()
        r = requests.get(f"{base}/api/v1/inbox", params={"wait": WAIT}, headers=auth(token), timeout=WAIT + 30)
        results.append((token, r.status_code, len(r.json().get("items", [])), time.monotonic() - started))

    with gunicorn("app:create_app()", env) as base:
        threads = [threading.Thread(target=poll, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        time.sleep(2)  # the polls are parked now
        assert not results, "a long-poll answered before anything arrived"
        started = time.monotonic()
        up = requests.post(f"{base}/api/v1/documents", headers=world.headers("clerk"), timeout=WAIT,
                           files={"file": ("a.pdf", make_pdf("Thông báo"), "application/pdf")},
                           data={"metadata": json.dumps(DOCUMENT_METADATA)})
        assert up.status_code == 201, up.text
        with session_scope(engine, write=True) as session:  # stands in for the seal (signing has its own tests)
            session.get(Document, up.json()["id"]).state = "sealed"
        sent = requests.post(f"{base}/api/v1/documents/{up.json()['id']}/dispatches", timeout=WAIT,
                             headers={**world.headers("clerk"), "Idempotency-Key": "load"}, json={"to": [target]})
        assert sent.status_code == 201, sent.text
        served_in = time.monotonic() - started
        assert served_in < WAIT / 2, served_in  # not queued behind the parked polls
        for t in threads:
            t.join(WAIT + 40)
    engine.dispose()
    assert len(results) == POLLERS and all(status == 200 for _, status, _, _ in results)
    woken = [r for r in results if r[0] == world.agency_tokens[target]]
    assert woken[0][2] == 1 and woken[0][3] < WAIT - 3  # answered by the dispatch, not the timeout
    assert all(items == 0 for token, _, items, _ in results if token != world.agency_tokens[target])
