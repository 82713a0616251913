"""Requests retried with an ``Idempotency-Key``: the first one runs, every retry with the same
key and the same body gets the first one's answer — also when the client gave up waiting and
the server finished anyway — and a retry with another body is refused (409
``idempotency_key_reused``).

A key is claimed (a row with no answer yet) before the request runs, in its own short
transaction; the answer is stored once the request has succeeded. A twin arriving while the
first still runs waits for its answer, then gets 409 ``idempotency_in_progress`` (with
``Retry-After``). A request that fails gives its key back: refusals change nothing, so
running it again is safe. Keys are kept ``LIENTHONG_IDEMPOTENCY_HOURS`` (24 h by default).

The database down while a key is given back or an answer stored (the request failed because
of it, or succeeded just before it): the write is kept in this process and retried in the
background until the database answers again, so that a retry after the outage neither waits
for :data:`ABANDONED_AFTER` (409 ``idempotency_in_progress``) nor runs a finished request
twice. What this does not cover: a process that dies after the change committed and before
its answer was stored leaves a claim without an answer; after :data:`ABANDONED_AFTER` a retry
takes it over and runs the request again. (Dispatches and forwards keep their own key in the
dispatch row, written in the change's transaction: they are exactly once.)
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from errors import Conflict, ErrorCode
from exchange.domain.caller import Caller
from exchange.models import IdempotencyRecord, utcnow
from storage.db import DatabaseUnavailable, execute_dml
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

WAIT_FOR_TWIN_S = 10.0  # a twin waits this long for the first request's answer
POLL_EVERY_S = 0.1
ABANDONED_AFTER = timedelta(minutes=10)  # longer than any request may run (gunicorn's timeout, a signature)
RETRY_PENDING_EVERY_S = 0.5
DATABASE_DOWN = (sa.exc.OperationalError, sa.exc.InterfaceError, DatabaseUnavailable)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """The stored answer of the first request."""
    status: int
    body: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Claimed:
    """The key is ours: run the request, then :func:`store` or :func:`release`. A claim taken
    over after :data:`ABANDONED_AFTER` keeps the record and gets a new ``claimed_at`` (its
    ``created_at``): a late write of the claim before it matches nothing."""
    record_id: int
    claimed_at: datetime


def scope_of(caller: Caller) -> str:
    """Whose keys these are: a key means something to one caller only."""
    return f"agency:{caller.agency_id}/user:{caller.user_id if caller.user_id is not None else '-'}"


def _try_claim(svc: "Services", scope: str, endpoint: str, key: str, fingerprint: str) -> Answer | Claimed | None:
    """Claim the key, or the answer already stored; None while a twin still runs."""
    now = utcnow()
    try:
        with svc.uow(write=True) as uow:
            session = uow.session
            execute_dml(session, sa.delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) < now))
            row = session.exec(select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.endpoint == endpoint,
                IdempotencyRecord.key == key)).one_or_none()
            if row is None:
                row = IdempotencyRecord(scope=scope, endpoint=endpoint, key=key, request_sha256=fingerprint,
                                        created_at=now, expires_at=now + svc.settings.idempotency_ttl)
                session.add(row)
                session.flush()
            elif row.request_sha256 != fingerprint:
                raise Conflict(_l("this Idempotency-Key was used with another request"),
                               code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
            elif row.status is not None:
                return Answer(row.status, row.body or "", json.loads(row.headers))
            elif row.created_at >= now - ABANDONED_AFTER:
                return None
            else:  # its process died before answering: the retry runs the request again
                row.created_at = now
                session.add(row)
            uow.commit()
            assert row.id is not None
            return Claimed(row.id, now)
    except IntegrityError:  # a twin inserted the same key first: read its row next time round
        return None


class _Pending:
    """Key writes (a release, a stored answer) the database refused while it was down, retried
    until they are written or :data:`ABANDONED_AFTER` has passed (a retry then takes the key
    over anyway). One per process; a thread (a greenlet under gevent) runs while any is left,
    and it alone retries them: a request never waits on the outage for another's writes (a
    connect timeout each, 5 s on PostgreSQL), and no write is ever out of the list while the
    thread looks, so it never ends with one left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes: list[tuple[float, Callable[[], None]]] = []
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def add(self, write: Callable[[], None]) -> None:
        with self._lock:
            self._writes.append((time.monotonic() + ABANDONED_AFTER.total_seconds(), write))
            self._start_unless_running()

    def wake(self) -> None:
        """Retry now, not at the next round (a keyed request came: the database may be back)."""
        with self._lock:
            if self._writes:
                self._wake.set()
                self._start_unless_running()

    def _start_unless_running(self) -> None:  # under the lock
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="idempotency-pending", daemon=True)
            self._thread.start()

    def _flush(self) -> None:
        """Try every pending write once (on the thread only)."""
        with self._lock:
            writes, self._writes = self._writes, []
        left = []
        for until, write in writes:
            try:
                write()
            except DATABASE_DOWN:
                if time.monotonic() < until:
                    left.append((until, write))
            except Exception:  # not the outage: retrying will not help; the abandoned-claim rule applies
                log.exception("an Idempotency-Key write kept during an outage failed; dropped")
        with self._lock:
            self._writes[:0] = left
            if self._writes:
                self._start_unless_running()

    def _run(self) -> None:
        while True:
            self._wake.clear()
            self._flush()
            with self._lock:
                if not self._writes:
                    self._thread = None  # under the lock: a write added later starts a new thread
                    return
            self._wake.wait(RETRY_PENDING_EVERY_S)


_pending = _Pending()


def _write_or_keep(write: Callable[[], None]) -> None:
    try:
        write()
    except DATABASE_DOWN as exc:
        log.warning("database down: an Idempotency-Key write is kept until it answers (%s)",
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        _pending.add(write)


def claim(svc: "Services", caller: Caller, endpoint: str, key: str, fingerprint: str) -> Answer | Claimed:
    """The stored answer for this key, or the key claimed for this request."""
    scope = scope_of(caller)
    # a key this process could not give back during an outage: retried now, on the thread; if it
    # is this one, the wait for a twin below sees it given back as soon as it lands
    _pending.wake()
    deadline = time.monotonic() + WAIT_FOR_TWIN_S
    while True:
        outcome = _try_claim(svc, scope, endpoint, key, fingerprint)
        if outcome is not None:
            return outcome
        if time.monotonic() >= deadline:
            raise Conflict(_l("a request with this Idempotency-Key is still running; try again shortly"),
                           code=ErrorCode.IDEMPOTENCY_IN_PROGRESS, retry_after=1)
        time.sleep(POLL_EVERY_S)


def _still_ours(claimed: Claimed) -> tuple[sa.ColumnElement[bool], ...]:
    """The record as this claim left it: not taken over since (a write held back by an outage,
    or a request that ran past ABANDONED_AFTER, must not answer for or free the new claim)."""
    return (col(IdempotencyRecord.id) == claimed.record_id, col(IdempotencyRecord.created_at) == claimed.claimed_at)


def store(svc: "Services", claimed: Claimed, status: int, body: str, headers: Mapping[str, str]) -> None:
    """Keep the answer for the key's retries (later, if the database is down now: the change
    itself committed, so the caller still gets its answer)."""
    def write() -> None:
        with svc.uow(write=True) as uow:
            execute_dml(uow.session, sa.update(IdempotencyRecord)
                        .where(*_still_ours(claimed))
                        .values(status=status, body=body, headers=json.dumps(dict(headers), sort_keys=True)))
            uow.commit()

    _write_or_keep(write)


def release(svc: "Services", claimed: Claimed) -> None:
    """The request failed and changed nothing: the key may be used again (once the database
    answers, if it is down now)."""
    def write() -> None:
        with svc.uow(write=True) as uow:
            execute_dml(uow.session, sa.delete(IdempotencyRecord)
                        .where(*_still_ours(claimed), col(IdempotencyRecord.status).is_(None)))
            uow.commit()

    _write_or_keep(write)
