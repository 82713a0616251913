"""The webhooks' "Done when", with real processes: the app under gunicorn, the worker
(``flask --app app worker``) and a receiver — the shipped helper (client/webhook_receiver.py)
under http.server on 127.0.0.1, checking every signature.

- the worker is SIGKILLed and the app stopped while deliveries are pending; both start again
  and more events come: the receiver has handled every event exactly once, in the feed's order
  (a request repeated after the kill carries the same event id, and the helper drops it);
- a receiver answering 500 for a while gets the events later, in order; the delivery log
  (GET /api/v1/webhooks/{id}/deliveries) shows the retries; SIGTERM stops the worker cleanly.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from client.webhook_receiver import EVENT_ID_HEADER, WebhookReceiver, make_server
from storage.db import make_engine
from tests.e2e.gunicorn_support import ROOT, gunicorn, server_env
from tests.exchange_fixtures import World
from tests.integration.exchange.delivery_support import sealed_document, world

pytestmark = pytest.mark.e2e
# one gunicorn worker: starting the app is most of this file's time, and one serves these requests
FLASK = Path(sys.executable).parent / "flask"


class Recorder(WebhookReceiver):
    """The helper, noting every request's event id (duplicates too) before it judges it."""

    def __init__(self, secret: str, handle: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(secret, handle)
        self.requested: list[str] = []

    def receive(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        self.requested.append(str(headers.get(EVENT_ID_HEADER)))
        return super().receive(headers, body)


class Receiver:
    def __init__(self, fail_for: float = 0.0) -> None:
        self.handled: list[dict] = []
        self.fail_for, self.fail_until = fail_for, 0.0
        self.hold_at: int | None = None  # handle the event at this index only once the test says so
        self.held, self.released = threading.Event(), threading.Event()
        self.recorder: Recorder | None = None
        self.server: Any = None
        self.port = 0

    def handle(self, event: dict) -> None:
        if self.hold_at is not None and len(self.handled) == self.hold_at and not self.released.is_set():
            self.held.set()  # the worker's POST is in flight now; the test kills it
            self.released.wait(30)
        if self.fail_for and not self.fail_until:
            self.fail_until = time.monotonic() + self.fail_for  # from the first request on
        if time.monotonic() < self.fail_until:
            raise RuntimeError("receiver down for a while")
        self.handled.append(event)

    def start(self, secret: str) -> None:
        self.recorder = Recorder(secret, self.handle)
        self.server = make_server(self.recorder, "127.0.0.1", self.port)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"LIENTHONG_DATABASE_URL": database_url, "LIENTHONG_DATA_DIR": str(tmp_path / "var"),
            "LIENTHONG_WEBHOOKS_ALLOW_PRIVATE": "true", "LIENTHONG_WEBHOOKS_BACKOFF": "0.2",
            "LIENTHONG_WEBHOOKS_LEASE": "3", "LIENTHONG_WEBHOOKS_TIMEOUT": "1", "LIENTHONG_WORKER_POLL": "0.2"}


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(FLASK), "--app", "app", "worker"], env=server_env(env), cwd=ROOT)


def _world(database_url: str) -> World:
    engine = make_engine(database_url)
    try:
        return world(engine)
    finally:
        engine.dispose()


def _dispatch(url: str, database_url: str, w: World, to: str, n: int) -> None:
    engine = make_engine(database_url)
    try:
        for _ in range(n):
            doc = sealed_document(engine, w)
            r = requests.post(f"{url}/api/v1/documents/{doc}/dispatches", json={"to": [to]},
                              headers={**w.headers("clerk"), "Idempotency-Key": f"d-{doc}"}, timeout=30)
            assert r.status_code == 201, r.text
    finally:
        engine.dispose()


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _feed(url: str, headers: dict[str, str]) -> list[dict]:
    return requests.get(f"{url}/api/v1/events?limit=200", headers=headers, timeout=10).json()["items"]


def _subscribe(url: str, headers: dict[str, str], receiver: Receiver) -> dict:
    r = requests.post(f"{url}/api/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hook"},
                      headers=headers, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def _stop(worker: subprocess.Popen[bytes], sig: int) -> int:
    worker.send_signal(sig)
    return worker.wait(20)


def test_every_event_arrives_exactly_once_in_order_across_a_killed_worker_and_a_restarted_app(
        tmp_path, database_url, receiver):
    env = _env(tmp_path, database_url)
    w = _world(database_url)
    commune = w.all_communes[0]
    receiver.hold_at = 8
    receiver.start("not yet")  # the port first: the subscription names it
    with gunicorn("app:create_app()", env, workers=1) as url:
        hook = _subscribe(url, w.headers(commune), receiver)
        assert receiver.recorder is not None
        receiver.recorder.secret = hook["secret"]
        worker = _worker(env)
        try:
            _dispatch(url, database_url, w, commune, 30)
            assert receiver.held.wait(60), "the worker did not get to the 9th event"
        finally:
            assert _stop(worker, signal.SIGKILL) == -signal.SIGKILL
    # the receiver handles the 9th event after all: the killed worker never heard it, the next one resends it
    receiver.released.set()
    _wait_for(lambda: len(receiver.handled) == 9, 10, "the 9th event")
    killed_mid_post = str(receiver.handled[8]["id"])
    with gunicorn("app:create_app()", env, workers=1) as url:
        worker = _worker(env)
        try:
            _dispatch(url, database_url, w, commune, 10)
            _wait_for(lambda: len(receiver.handled) >= 40, 90, "all 40 events")
            time.sleep(0.5)  # a late duplicate would show now
            feed = _feed(url, w.headers(commune))
            log = requests.get(f"{url}/api/v1/webhooks/{hook['id']}/deliveries?limit=200",
                               headers=w.headers(commune), timeout=10).json()["items"]
        finally:
            assert _stop(worker, signal.SIGTERM) == 0
    assert receiver.handled == feed and len(feed) == 40
    assert [e["seq"] for e in receiver.handled] == list(range(1, 41))
    assert receiver.recorder is not None
    requested = receiver.recorder.requested
    assert set(requested) == {str(e["id"]) for e in feed}  # any extra request repeated an id already seen
    assert requested.count(killed_mid_post) >= 2  # sent again after the kill, and dropped by the helper
    assert sorted(d["event_seq"] for d in log) == list(range(1, 41)) and {d["state"] for d in log} == {"delivered"}


def test_a_receiver_answering_500_for_a_while_gets_the_events_later_in_order(tmp_path, database_url):
    env = _env(tmp_path, database_url)
    w = _world(database_url)
    province = w.province
    receiver = Receiver(fail_for=2.0)
    receiver.start("not yet")
    try:
        with gunicorn("app:create_app()", env, workers=1) as url:
            hook = _subscribe(url, w.headers("admin"), receiver)
            assert receiver.recorder is not None
            receiver.recorder.secret = hook["secret"]
            worker = _worker(env)
            try:
                # the province hears of each commune's ack: 5 events for the sender
                _dispatch(url, database_url, w, w.all_communes[0], 5)
                inbox = requests.get(f"{url}/api/v1/inbox", headers=w.headers(w.all_communes[0]), timeout=10)
                for item in inbox.json()["items"]:
                    r = requests.post(f"{url}/api/v1/inbox/{item['delivery_id']}/ack",
                                      headers=w.headers(w.all_communes[0]), timeout=10)
                    assert r.status_code == 200, r.text
                _wait_for(lambda: len(receiver.handled) >= 5, 60, "the events after the outage")
                feed = _feed(url, w.headers(province))
                log = requests.get(f"{url}/api/v1/webhooks/{hook['id']}/deliveries",
                                   headers=w.headers("admin"), timeout=10).json()["items"]
            finally:
                assert _stop(worker, signal.SIGTERM) == 0  # a clean stop
    finally:
        receiver.stop()
    engine = make_engine(database_url)
    try:  # no lease left behind by the clean stop (a killed worker's runs out instead)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT lease_owner FROM webhook_subscription").scalars().all() == [None]
    finally:
        engine.dispose()
    assert [e["kind"] for e in feed] == ["delivery.acked"] * 5
    assert receiver.handled == feed
    first = next(d for d in log if d["event_seq"] == 1)
    assert first["state"] == "delivered" and first["attempts"] >= 3 and first["status_code"] == 200
    assert receiver.recorder is not None and receiver.recorder.requested[0] == str(feed[0]["id"])
    # while the first event failed, no later one was tried: they came after it, in order
    later_first_tried = receiver.recorder.requested.index(str(feed[1]["id"]))
    assert set(receiver.recorder.requested[:later_first_tried]) == {str(feed[0]["id"])}
