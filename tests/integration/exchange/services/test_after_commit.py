"""After-commit hooks fire only for changes that committed: a dispatch that fails after its
rows were written wakes no long-poll (and, on PostgreSQL, sends no NOTIFY), and a token
revocation whose commit fails does not clear the token cache. Each test has its control: the
same change, committed, does fire the hook."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from exchange.adapters import notify
from exchange.models import AuditEvent, OutboxEvent
from exchange.services import accounts, audit, login
from exchange.services.accounts import hash_secret
from exchange.services.dispatch import Recipients, dispatch_document
from tests.db import session_scope
from tests.exchange_fixtures import World, build_world, caller_for, store_document

C1, C2 = "000.01.01.H62", "000.04.02.H62"  # communes of the province's two districts
NO_WAKE_S = 0.5  # how long a waiter is watched for a wake-up that must not come


def _world(engine: Any) -> World:
    with session_scope(engine, write=True) as session:
        return build_world(session)


def _sealed(services: Any, world: World) -> int:
    with session_scope(services.engine, write=True) as session:
        return store_document(session, services.blobs, world, state="sealed")


def _counts(engine: Any) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
                     for t in (AuditEvent, OutboxEvent))


@contextmanager
def _pg_listener(engine: Any) -> Iterator[Callable[[], list[str]]]:
    """On PostgreSQL, our own LISTEN on the inbox channel (what other processes hear); on
    SQLite nothing is sent between processes, so nothing to hear."""
    if engine.dialect.name != "postgresql":
        yield lambda: []
        return
    import psycopg

    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        notify.listen(conn, notify.CHANNEL)
        yield lambda: [n.payload for n in conn.notifies(timeout=NO_WAKE_S)]


def _fail_after_the_audit_record(monkeypatch: pytest.MonkeyPatch) -> None:
    real = audit.record

    def record_then_fail(session: Session, *args: Any, **kwargs: Any) -> AuditEvent:
        real(session, *args, **kwargs)
        raise RuntimeError("failure after the audit record")

    monkeypatch.setattr(audit, "record", record_then_fail)


def test_a_rolled_back_dispatch_wakes_no_long_poll(services, monkeypatch):
    world = _world(services.engine)
    doc_id = _sealed(services, world)
    clerk, recipient = caller_for(world, "clerk"), world.agency_ids[C1]
    counts = _counts(services.engine)
    with _pg_listener(services.engine) as heard:
        waiter = services.notifier.subscribe(recipient)  # a long-poll of C1, waiting
        try:
            _fail_after_the_audit_record(monkeypatch)
            with pytest.raises(RuntimeError):
                dispatch_document(services, clerk, doc_id, Recipients(to=(C1, C2)), "gui-1")
            assert not waiter.wait(NO_WAKE_S)
            assert heard() == []
            assert _counts(services.engine) == counts

            monkeypatch.undo()
            _, created = dispatch_document(services, clerk, doc_id, Recipients(to=(C1, C2)), "gui-1")
            assert created and waiter.is_set()
        finally:
            services.notifier.unsubscribe(recipient, waiter)
        if services.engine.dialect.name == "postgresql":  # and the other processes heard of it, once
            told = [agency for payload in heard() for agency, _seq in notify.parse_payload(payload)]
            assert told.count(recipient) == 1
    assert _counts(services.engine) == (counts[0] + 1, counts[1] + 1)


class _RecacheBeforeCommit:
    """A request that looks the token up while the revocation's transaction is open (after
    it cleared the cache, before it commits): it sees the token as still valid and caches
    it. Only the after-commit clear can drop that entry. ``fail`` then makes the commit fail."""

    def __init__(self, services: Any, secret: str, *, fail: bool) -> None:
        self.services, self.secret, self.fail = services, secret, fail
        self.cached: Any = None
        self._thread = threading.get_ident()

    def __call__(self, session: Session) -> None:
        if threading.get_ident() != self._thread or self.cached is not None:
            return
        self.cached = login.caller_for_token(self.services, self.secret)
        if self.fail:
            raise sa.exc.OperationalError("COMMIT", {}, Exception("the database went away"))


def _cache_key(services: Any, secret: str) -> str:
    return hash_secret(secret)  # as exchange.services.login keys its lookups (the cache is the Services' own)


@pytest.mark.parametrize("commit_fails", [True, False], ids=["rolled-back", "committed"])
def test_the_token_cache_is_cleared_only_when_a_revocation_commits(services, commit_fails):
    world = _world(services.engine)
    person = world.people["district_clerk"]
    # a first lookup stamps the token's last use, so the lookup in the hook writes nothing
    assert login.caller_for_token(services, person.token) is not None
    counts = _counts(services.engine)
    recache = _RecacheBeforeCommit(services, person.token, fail=commit_fails)
    sa.event.listen(Session, "before_commit", recache)
    try:
        if commit_fails:
            with pytest.raises(sa.exc.OperationalError):
                accounts.revoke_token(services, person.token_id)
        else:
            accounts.revoke_token(services, person.token_id)
    finally:
        sa.event.remove(Session, "before_commit", recache)
    assert recache.cached is not None, "the hook never ran: the test proves nothing"
    cached = services.token_cache.get(_cache_key(services, person.token))
    if commit_fails:
        assert cached is not None  # no clear fired for a revocation that did not happen
        assert _counts(services.engine) == counts
        assert login.caller_for_token(services, person.token) is not None
    else:
        assert cached is None  # the entry cached mid-transaction was dropped at the commit
        assert login.caller_for_token(services, person.token) is None
        assert _counts(services.engine) == (counts[0] + 1, counts[1] + 1)
