"""Idempotency-Key writes as a service: one held back during an outage is retried by the
background thread alone, until it lands (no request waits on it)."""
from __future__ import annotations

import threading
import time
from typing import Callable

import pytest

from exchange.services import idempotency
from storage.db import DatabaseUnavailable
from tests.db import session_scope
from tests.exchange_fixtures import build_world, caller_for

ENDPOINT = "POST /api/v1/documents"


@pytest.fixture
def caller(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return caller_for(build_world(s), "clerk")


def _until(condition: Callable[[], bool], guard_s: float = 10.0) -> bool:
    """Wait for ``condition`` (a guard against hanging the suite, not a timing assertion)."""
    deadline = time.monotonic() + guard_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_write_kept_during_an_outage_lands_and_no_request_waits_for_it(services, caller, monkeypatch):
    """A request's claim() used to retry every pending write itself (up to the 5 s connect
    timeout each on PostgreSQL); while it did, the background thread found nothing to do and
    ended, and the writes claim() put back were retried by nobody: the key stayed claimed
    until another keyed request reached the process. Now only the thread retries them."""
    pending = idempotency._Pending()
    monkeypatch.setattr(idempotency, "_pending", pending)
    main, database_up = threading.current_thread(), threading.Event()
    retried_in_background: list[bool] = []
    tried_on_main_during_claim: list[bool] = []
    landed: list[str] = []
    in_claim = threading.Event()

    def held_back_write() -> None:
        if in_claim.is_set() and threading.current_thread() is main:
            tried_on_main_during_claim.append(True)
            # a connect timeout: long enough for the background thread to look, find nothing, end
            _until(lambda: pending._thread is None, guard_s=2)
            raise DatabaseUnavailable("connection timed out")
        if threading.current_thread() is not main:
            retried_in_background.append(True)
        if not database_up.is_set():
            raise DatabaseUnavailable("connection refused")
        landed.append("release")

    idempotency._write_or_keep(held_back_write)  # the request's own attempt: refused, kept
    assert not landed
    # the thread has tried once and sleeps RETRY_PENDING_EVERY_S: the request comes meanwhile
    assert _until(lambda: bool(retried_in_background) and bool(pending._writes))
    in_claim.set()
    assert isinstance(idempotency.claim(services, caller, ENDPOINT, "khac", "ab" * 32), idempotency.Claimed)
    in_claim.clear()
    database_up.set()
    assert _until(lambda: bool(landed)), "the kept write was left with no thread retrying it"
    assert landed == ["release"]
    assert tried_on_main_during_claim == []  # claim() did not wait on the outage itself

