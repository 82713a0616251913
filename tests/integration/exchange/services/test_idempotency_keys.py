"""Idempotency-Key writes as a service: one held back during an outage is retried by the
background thread alone, until it lands (no request waits on it), and a late write of a
claim taken over after ABANDONED_AFTER leaves the new claim alone."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Callable

import pytest
import sqlalchemy as sa

from exchange.models import IdempotencyRecord
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


def _age(engine: Any, by: timedelta) -> None:
    with session_scope(engine, write=True) as s:
        for record in s.exec(sa.select(IdempotencyRecord)).scalars():  # type: ignore[call-overload]
            record.created_at -= by


def _the_record(engine: Any) -> IdempotencyRecord | None:
    with session_scope(engine) as s:
        return s.exec(sa.select(IdempotencyRecord)).scalars().one_or_none()  # type: ignore[call-overload]


def test_a_late_write_of_an_abandoned_claim_leaves_the_claim_that_took_it_over(services, engine, caller):
    """The first request ran past ABANDONED_AFTER (or its release was held back by an outage);
    a retry took the key over — the same record. The first one's late release must not give
    the retry's key away (a third request would run it again meanwhile), nor its late answer
    stand for the retry's."""
    first = idempotency.claim(services, caller, ENDPOINT, "bo-do", "ab" * 32)
    assert isinstance(first, idempotency.Claimed)
    _age(engine, idempotency.ABANDONED_AFTER + timedelta(seconds=1))
    retry = idempotency.claim(services, caller, ENDPOINT, "bo-do", "ab" * 32)
    assert isinstance(retry, idempotency.Claimed) and retry.record_id == first.record_id

    idempotency.release(services, first)
    record = _the_record(engine)
    assert record is not None and record.status is None, "the late release gave the retry's key away"
    idempotency.store(services, first, 201, '{"id": 1}', {})
    record = _the_record(engine)
    assert record is not None and record.status is None  # not the abandoned request's answer

    idempotency.store(services, retry, 201, '{"id": 2}', {"Content-Type": "application/json"})
    answer = idempotency.claim(services, caller, ENDPOINT, "bo-do", "ab" * 32)
    assert answer == idempotency.Answer(201, '{"id": 2}', {"Content-Type": "application/json"})
