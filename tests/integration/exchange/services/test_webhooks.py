"""Webhook delivery (exchange.services.webhooks) against a real receiver on 127.0.0.1 — the
shipped helper under http.server — with the events of real dispatches: order, retries with
back-off, giving up, the leases (SKIP LOCKED on PostgreSQL, the rowcount claim on SQLite) and
the address guard at delivery time. The worker process itself: tests/e2e/test_webhooks_worker.py."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

import bootstrap
from client.webhook_receiver import WebhookReceiver, make_server
from exchange.adapters import webhook_http
from exchange.models import WebhookDelivery, WebhookSubscription, utcnow
from exchange.services import webhooks
from exchange.services.dispatch import Recipients, dispatch_document
from settings import Settings
from tests.db import session_scope
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import sealed_document, world


@pytest.fixture
def svc(tmp_path, database_url):  # type: ignore[no-untyped-def]
    built = bootstrap.build(Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True,
                                     webhooks_allow_private=True, webhooks_backoff_s=0.2, webhooks_timeout_s=2))
    yield built
    built.close()


class Receiver:
    """The helper on 127.0.0.1; ``fail`` > 0 answers that many requests 500 first."""

    def __init__(self, secret: str = "") -> None:
        self.events: list[dict] = []
        self.requests = 0
        self.fail = 0
        self.secret = secret
        self.server = None

    def start(self, secret: str) -> str:
        def handle(event: dict) -> None:
            self.requests += 1
            if self.fail > 0:
                self.fail -= 1
                raise RuntimeError("down for maintenance")
            self.events.append(event)

        self.server = make_server(WebhookReceiver(secret, handle))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    yield r
    r.stop()


def _subscribe(svc, w, who: str, url: str) -> dict:  # type: ignore[no-untyped-def]
    return webhooks.subscribe(svc, caller_for(w, who), url)


def _point(svc, subscription_id: int, url: str, secret: str | None = None) -> None:  # type: ignore[no-untyped-def]
    values = {"url": url, **({"secret": secret} if secret else {})}
    with session_scope(svc.engine, write=True) as s:
        s.execute(sa.update(WebhookSubscription).where(WebhookSubscription.id == subscription_id).values(**values))


def _dispatch(svc, w, to: str, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        doc = sealed_document(svc.engine, w)
        dispatch_document(svc, caller_for(w, "clerk"), doc, Recipients(to=(to,)), f"k-{doc}")


def _subscribed(svc, receiver, events: int):  # type: ignore[no-untyped-def]
    """A commune's subscription pointed at ``receiver``, with ``events`` dispatched to it since."""
    w = world(svc.engine)
    commune = w.all_communes[0]
    sub = _subscribe(svc, w, commune, "http://127.0.0.1:9/placeholder")
    _point(svc, sub["id"], receiver.start(sub["secret"]))
    _dispatch(svc, w, commune, events)
    return w, commune, sub


def _expire_leases(svc) -> None:  # type: ignore[no-untyped-def]
    with session_scope(svc.engine, write=True) as s:
        s.execute(sa.update(WebhookSubscription).values(lease_until=utcnow() - timedelta(seconds=1)))


def _run(svc, owner: str = "w1") -> int:  # type: ignore[no-untyped-def]
    return sum(webhooks.deliver(svc, lease) for lease in webhooks.claim(svc, owner))


def _ids(leases: list[webhooks.Lease]) -> list[int]:
    return [lease.subscription_id for lease in leases]


def _log(svc, subscription_id: int) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with session_scope(svc.engine) as s:
        return list(s.execute(sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
                              .order_by(WebhookDelivery.event_seq)).scalars())


def _sub(svc, subscription_id: int) -> WebhookSubscription:  # type: ignore[no-untyped-def]
    with session_scope(svc.engine) as s:
        return s.get(WebhookSubscription, subscription_id)


def test_events_arrive_in_order_signed_as_the_feed_shows_them(svc, receiver):
    w = world(svc.engine)
    commune = w.all_communes[0]
    _dispatch(svc, w, commune, 1)  # before the subscription: not delivered (it is in the feed)
    sub = _subscribe(svc, w, commune, "http://127.0.0.1:9/placeholder")
    _point(svc, sub["id"], receiver.start(sub["secret"]))
    _dispatch(svc, w, commune, 5)
    assert _run(svc) == 5
    from exchange.services import events

    feed = events.read(svc, w.agency_ids[commune], 1, 100)
    assert receiver.events == feed and [e["seq"] for e in feed] == [2, 3, 4, 5, 6]
    assert [(d.state, d.attempts, d.status_code) for d in _log(svc, sub["id"])] == [("delivered", 1, 200)] * 5
    assert _sub(svc, sub["id"]).cursor == 6 and _sub(svc, sub["id"]).lease_owner is None
    assert _run(svc) == 0 and receiver.requests == 5  # nothing pending: nothing claimed


def test_a_failing_receiver_holds_back_later_events_until_its_retry_then_gets_them_in_order(svc, receiver):
    w, commune, sub = _subscribed(svc, receiver, events=3)
    receiver.fail = 2
    assert _run(svc) == 0  # first attempt: 500, stop
    [first] = _log(svc, sub["id"])
    assert (first.state, first.attempts, first.status_code, first.event_seq) == ("pending", 1, 500, 1)
    assert first.next_attempt_at is not None and _sub(svc, sub["id"]).cursor == 0
    assert _run(svc) == 0 and receiver.requests == 1  # not due yet: not even claimed
    time.sleep(0.25)
    assert _run(svc) == 0  # second attempt: 500 again, the delay doubles
    second = _log(svc, sub["id"])[0]
    assert second.attempts == 2
    assert (second.next_attempt_at - second.updated_at).total_seconds() == pytest.approx(0.4, abs=0.05)
    time.sleep(0.45)
    assert _run(svc) == 3
    assert [e["seq"] for e in receiver.events] == [1, 2, 3]
    assert [(d.state, d.attempts) for d in _log(svc, sub["id"])] == [("delivered", 3), ("delivered", 1),
                                                                      ("delivered", 1)]


def test_after_the_retry_window_an_event_is_failed_and_the_next_ones_go(svc, receiver):
    w, commune, sub = _subscribed(svc, receiver, events=2)
    receiver.fail = 1
    assert _run(svc) == 0
    with session_scope(svc.engine, write=True) as s:  # the first attempt was a day ago
        s.execute(sa.update(WebhookDelivery).values(created_at=utcnow() - timedelta(hours=24, seconds=1),
                                                    next_attempt_at=utcnow()))
        s.execute(sa.update(WebhookSubscription).values(next_attempt_at=utcnow()))
    receiver.fail = 1
    assert _run(svc) == 1
    log = _log(svc, sub["id"])
    assert [(d.event_seq, d.state, d.attempts, d.next_attempt_at) for d in log] == [(1, "failed", 2, None),
                                                                                   (2, "delivered", 1, None)]
    assert [e["seq"] for e in receiver.events] == [2]


def test_a_leased_subscription_is_not_claimed_twice_and_an_expired_lease_is_taken_over(svc, receiver):
    w, commune, sub = _subscribed(svc, receiver, events=2)
    [first] = webhooks.claim(svc, "w1")
    assert first.subscription_id == sub["id"] and first.holder.startswith("w1/")
    assert webhooks.claim(svc, "w2") == []
    assert webhooks.deliver(svc, webhooks.Lease(sub["id"], "w2/00000000")) == 0 and receiver.requests == 0
    assert webhooks.deliver(svc, webhooks.Lease(sub["id"], "w1")) == 0  # the owner's name alone holds nothing
    _expire_leases(svc)  # w1 died: its lease runs out
    [second] = webhooks.claim(svc, "w2")
    assert webhooks.deliver(svc, first) == 0  # w1 woke up: it has lost the lease
    assert webhooks.deliver(svc, second) == 2
    webhooks.claim(svc, "w3")
    webhooks.release(svc, "w3")
    assert _sub(svc, sub["id"]).lease_owner is None


def test_a_lease_taken_again_by_the_same_worker_is_a_new_lease_the_first_one_is_lost(svc, receiver):
    w, commune, sub = _subscribed(svc, receiver, events=2)
    [first] = webhooks.claim(svc, "w1")
    assert webhooks.claim(svc, "w1") == []  # held
    _expire_leases(svc)  # its thread is slow: the lease runs out
    assert webhooks.claim(svc, "w1", busy=[sub["id"]]) == []  # the worker knows it is still at it
    [second] = webhooks.claim(svc, "w1")  # the same owner (say a restarted worker)
    assert second.holder != first.holder
    assert webhooks.deliver(svc, first) == 0 and receiver.requests == 0
    assert webhooks.deliver(svc, second) == 2 and receiver.requests == 2


def test_the_cursor_only_moves_forwards(svc, receiver):
    """A late write about an event behind the cursor (a thread that lost its lease mid-POST)
    must not take the cursor back: the events after it would be sent again."""
    w, commune, sub = _subscribed(svc, receiver, events=3)
    from exchange.services import events

    feed = events.read(svc, w.agency_ids[commune], 0, 100)
    [lease] = webhooks.claim(svc, "w1")
    with session_scope(svc.engine, write=True) as s:
        s.execute(sa.update(WebhookSubscription).values(cursor=feed[2]["seq"]))
    assert webhooks._log_attempt(svc, lease, feed[0], webhook_http.Answer(200)) is False
    assert _sub(svc, sub["id"]).cursor == feed[2]["seq"]


def test_on_postgresql_a_row_locked_by_another_worker_is_skipped_not_waited_for(svc, receiver):
    if svc.engine.dialect.name != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's (SQLite claims by rowcount)")
    w = world(svc.engine)
    commune, other = w.all_communes[0], w.all_communes[1]
    first = _subscribe(svc, w, commune, "http://127.0.0.1:9/a")
    second = _subscribe(svc, w, other, "http://127.0.0.1:9/b")
    _dispatch(svc, w, commune, 1)
    _dispatch(svc, w, other, 1)
    with svc.engine.connect() as holder:  # another worker, mid-claim, holds the first row
        holder.execute(sa.text("SELECT id FROM webhook_subscription WHERE id = :id FOR UPDATE"), {"id": first["id"]})
        started = time.monotonic()
        assert _ids(webhooks.claim(svc, "w2")) == [second["id"]]
        assert time.monotonic() - started < 2
        holder.rollback()
    assert _ids(webhooks.claim(svc, "w3")) == [first["id"]]


def test_the_address_is_checked_again_at_delivery(tmp_path, database_url, receiver):
    """A URL accepted once (DNS said public) that now leads to loopback is not called."""
    strict = bootstrap.build(Settings(data_dir=tmp_path / "strict", database_url=database_url, testing=True))
    try:
        w = world(strict.engine)
        commune = w.all_communes[0]
        sub = _subscribe(strict, w, commune, "https://93.184.215.14/hook")
        url = receiver.start(sub["secret"])
        _point(strict, sub["id"], url.replace("127.0.0.1", "localhost"))
        _dispatch(strict, w, commune, 1)
        assert _run(strict) == 0
        [entry] = _log(strict, sub["id"])
        assert entry.state == "pending" and entry.status_code is None
        assert "private or reserved address" in entry.error
        assert receiver.requests == 0
    finally:
        strict.close()


IDN_HOST, IDN_ASCII = "ví-dụ.vn", "xn--v-d-rma6749a.vn"


def test_a_vietnamese_domain_name_is_called_by_its_idna_name(svc, receiver, monkeypatch):
    """The URL is kept and called in its ASCII form (the Host header, SNI and DNS know no other);
    a receiver on 127.0.0.1 stands for the name here (allow_private in this file's settings)."""
    real = webhook_http.socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        looked_up.append(host)
        return real("127.0.0.1" if host == IDN_ASCII else host, port, *args, **kwargs)

    monkeypatch.setattr(webhook_http.socket, "getaddrinfo", getaddrinfo)
    w = world(svc.engine)
    commune = w.all_communes[0]
    sub = _subscribe(svc, w, commune, f"https://{IDN_HOST}/móc nối?ở=đây")
    assert sub["url"] == f"https://{IDN_ASCII}/m%C3%B3c%20n%E1%BB%91i?%E1%BB%9F=%C4%91%C3%A2y"
    port = int(receiver.start(sub["secret"]).rsplit(":", 1)[1].split("/")[0])
    _point(svc, sub["id"], f"http://{IDN_HOST}:{port}/hook")  # stored before the fix: still called
    _dispatch(svc, w, commune, 1)
    assert _run(svc) == 1 and len(receiver.events) == 1
    assert looked_up[0] == IDN_ASCII and IDN_HOST not in looked_up  # then urllib3 connects to the IP


def test_a_post_that_fails_in_any_way_is_logged_and_retried_not_left_leased(svc, receiver, monkeypatch):
    w, commune, sub = _subscribed(svc, receiver, events=1)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise LookupError("something nobody foresaw")

    monkeypatch.setattr(webhook_http.socket, "getaddrinfo", broken)
    assert _run(svc) == 0
    [entry] = _log(svc, sub["id"])
    assert (entry.state, entry.attempts, entry.status_code) == ("pending", 1, None)
    assert "LookupError" in entry.error and _sub(svc, sub["id"]).lease_owner is None


class _Recording(WebhookReceiver):
    """The helper, noting each request's event id in arrival order (duplicates too)."""

    def __init__(self, secret: str, handle) -> None:  # type: ignore[no-untyped-def]
        super().__init__(secret, handle)
        self.requested: list[int] = []

    def receive(self, headers, body):  # type: ignore[no-untyped-def]
        self.requested.append(int(headers.get("Lienthong-Event-Id")))
        return super().receive(headers, body)


def test_a_worker_does_not_take_again_what_its_own_thread_is_still_delivering(tmp_path, database_url):
    """The first POST outlasts the lease: the worker's next round must not claim the
    subscription again (a second thread would send the same events beside the first, out of
    order, and move the cursor back and forth). The events arrive once each, in order."""
    from exchange.worker import webhooks as worker

    svc = bootstrap.build(Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True,
                                   webhooks_allow_private=True, webhooks_timeout_s=20, webhooks_lease_s=0.5,
                                   worker_poll_s=0.02))
    server = None
    stop = threading.Event()
    try:
        w = world(svc.engine)
        commune = w.all_communes[0]
        sub = _subscribe(svc, w, commune, "http://127.0.0.1:9/placeholder")
        handled: list[int] = []
        cursors: list[int] = []

        def handle(event: dict) -> None:
            if not handled:  # the first POST lasts until the lease has run out, and some rounds more
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and (_sub(svc, sub["id"]).lease_until or utcnow()) > utcnow():
                    time.sleep(0.02)
                time.sleep(0.5)
            cursors.append(_sub(svc, sub["id"]).cursor)
            handled.append(event["id"])

        recording = _Recording(sub["secret"], handle)
        server = make_server(recording)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _point(svc, sub["id"], f"http://127.0.0.1:{server.server_port}/hook")
        _dispatch(svc, w, commune, 3)
        from exchange.services import events

        feed = events.read(svc, w.agency_ids[commune], 0, 100)
        runner = threading.Thread(target=worker.run, args=(svc, stop), kwargs={"concurrency": 4})
        runner.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _sub(svc, sub["id"]).cursor < feed[-1]["seq"]:
            time.sleep(0.05)
        stop.set()
        runner.join(30)
        assert recording.requested == [e["id"] for e in feed] == handled
        assert cursors == sorted(cursors) and _sub(svc, sub["id"]).cursor == feed[-1]["seq"]
    finally:
        stop.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        svc.close()


def test_the_secret_is_sealed_in_the_database_and_still_signs(svc, receiver):
    w = world(svc.engine)
    commune = w.all_communes[0]
    sub = _subscribe(svc, w, commune, "http://127.0.0.1:9/placeholder")
    stored = _sub(svc, sub["id"]).secret
    token = sub["secret"].removeprefix("whsec_")
    assert sub["secret"].startswith("whsec_") and stored.startswith("v1:") and len(stored) <= 100
    assert token not in stored and sub["secret"] not in stored  # a copy of the database does not give it away
    _point(svc, sub["id"], receiver.start(sub["secret"]))
    _dispatch(svc, w, commune, 2)
    assert _run(svc) == 2 and len(receiver.events) == 2  # the receiver verified each signature


def test_a_secret_stored_before_sealing_still_signs(svc, receiver):
    w = world(svc.engine)
    commune = w.all_communes[0]
    sub = _subscribe(svc, w, commune, "http://127.0.0.1:9/placeholder")
    legacy = "whsec_" + "a" * 43
    _point(svc, sub["id"], receiver.start(legacy), secret=legacy)
    _dispatch(svc, w, commune, 1)
    assert _run(svc) == 1 and len(receiver.events) == 1


def test_a_secret_sealed_under_another_secret_key_sends_nothing_and_says_why(svc, receiver, caplog):
    from exchange.adapters.sealed_secrets import SecretBox

    w = world(svc.engine)
    commune = w.all_communes[0]
    sub = _subscribe(svc, w, commune, "http://127.0.0.1:9/placeholder")
    _point(svc, sub["id"], receiver.start(sub["secret"]), secret=SecretBox(b"another node" * 3, "webhook").seal("x" * 43))
    _dispatch(svc, w, commune, 1)
    assert _run(svc) == 0 and receiver.requests == 0
    assert "does not open with this node's secret_key" in caplog.text
