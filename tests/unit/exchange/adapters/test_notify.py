"""The per-process high-water marks and wake-ups (exchange.notify), without a database."""
from __future__ import annotations

import threading

from exchange.adapters import notify


def _listening(n: notify.Notifier) -> notify.Notifier:
    n._listening = True  # as the listener thread does once LISTEN / the watcher runs
    n.ensure_running = lambda: None  # type: ignore[method-assign]
    return n


def test_a_mark_is_recorded_only_if_no_news_arrived_during_the_query():
    n = _listening(notify.Notifier("sqlite:////nowhere.db"))
    token = n.snapshot(7)
    n.published([(7, 3)])  # a delivery committed while the poll's query ran
    n.record_exhausted(7, 2, token)
    assert not n.nothing_after(7, 2)  # the stale "nothing after 2" was not kept
    token = n.snapshot(7)
    n.record_exhausted(7, 3, token)
    assert n.nothing_after(7, 3) and not n.nothing_after(7, 2)
    n.published([(7, 4)])
    assert not n.nothing_after(7, 3) and n.nothing_after(7, 4)


def test_dropping_all_marks_and_not_listening_means_query_again():
    n = _listening(notify.Notifier("sqlite:////nowhere.db"))
    n.record_exhausted(1, 5, n.snapshot(1))
    assert n.nothing_after(1, 5)
    n.invalidate_all()
    assert not n.nothing_after(1, 5)
    n.record_exhausted(1, 5, n.snapshot(1))
    n._listening = False
    assert not n.nothing_after(1, 5) and n.snapshot(1) is None


def test_news_wakes_only_that_agencys_waiters():
    n = _listening(notify.Notifier("sqlite:////nowhere.db"))
    mine, other = n.subscribe(1), n.subscribe(2)
    n.published([(1, 9)])
    assert mine.is_set() and not other.is_set()
    n.unsubscribe(1, mine)
    n.unsubscribe(2, other)
    assert n._waiters == {}


def test_a_waiter_subscribed_before_looking_misses_nothing():
    n = _listening(notify.Notifier("sqlite:////nowhere.db"))
    event = n.subscribe(3)
    threading.Thread(target=n.published, args=([(3, 1)],)).start()
    assert event.wait(10)


def test_payloads_stay_under_postgresqls_limit_and_round_trip():
    pairs = [(agency, seq) for agency, seq in zip(range(100000, 104000), range(1, 4001))]
    payloads = notify.format_payloads(pairs)
    assert len(payloads) > 1 and all(len(p) <= notify.PG_PAYLOAD_MAX for p in payloads)
    assert [pair for p in payloads for pair in notify.parse_payload(p)] == pairs
    assert notify.parse_payload("garbage,1:x,2:3") == [(2, 3)]
