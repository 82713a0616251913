"""A stopping process (SIGTERM: exchange/http/graceful_stop.py) answers parked polls at once,
and a poll that comes in while it stops does not park."""
from __future__ import annotations

import threading
import time

from exchange.services import inbox
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import world


def test_closing_the_waiters_answers_a_parked_poll_with_its_cursor(engine, services):
    w = world(engine)
    caller = caller_for(w, w.all_communes[0])
    timer = threading.Timer(0.5, services.notifier.close_waiters)
    started = time.monotonic()
    timer.start()
    page = inbox.poll(services, caller, after="42", wait=30)
    timer.join()
    assert page == {"items": [], "next_cursor": "42"}
    assert 0.4 < time.monotonic() - started < 5  # it did park, and was woken by the stop, not the wait


def test_a_poll_arriving_while_the_process_stops_does_not_park(engine, services):
    w = world(engine)
    services.notifier.close_waiters()
    started = time.monotonic()
    assert inbox.poll(services, caller_for(w, w.all_communes[0]), wait=30)["items"] == []
    assert time.monotonic() - started < 2
