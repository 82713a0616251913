"""Login back-off: per client address across usernames, per account across addresses; a
back-off, not a lockout; failures counted in their own table, the chain only summarised; the
password checked while no write transaction is open."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from exchange.models import AuditEvent, LoginFailure
from exchange.services import accounts
from exchange.services import login_throttle as throttle
from tests.db import session_scope
from tests.exchange_fixtures import PASSWORD, build_world

CLERK = "vanthu.tinh"


@pytest.fixture
def world(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return build_world(s)


def _login(client: Any, username: str, password: str, ip: str = "127.0.0.1") -> Any:
    return client.post("/api/v1/session", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def _age_failures(engine: Any, by: timedelta) -> None:
    """Let time pass for the limiter: every recorded failure moves ``by`` into the past."""
    with engine.begin() as conn:
        rows = conn.execute(sa.select(LoginFailure.id, LoginFailure.at)).all()
        for row_id, at in rows:
            conn.execute(sa.update(LoginFailure).where(LoginFailure.id == row_id).values(at=at - by))


def _chain_events(engine: Any) -> int:
    with session_scope(engine) as s:
        return s.exec(sa.select(sa.func.count()).select_from(AuditEvent)
                      .where(AuditEvent.action == "session.login_failed")).scalar_one()


def test_a_spray_of_usernames_from_one_address_backs_off_and_barely_touches_the_chain(client, world, engine):
    for i in range(throttle.FREE_PER_ADDRESS):
        assert _login(client, f"khong-co-ai-{i}", "x", ip="203.0.113.9").status_code == 401
    blocked = _login(client, CLERK, PASSWORD, ip="203.0.113.9")  # even a right password, from that address
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert _login(client, CLERK, PASSWORD, ip="198.51.100.1").status_code == 200  # others are not hurt
    # 20 failures, all in their own table; the chain has summaries at the address's 1st and 10th
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(LoginFailure)).scalar_one() == throttle.FREE_PER_ADDRESS
    assert _chain_events(engine) == 2


def test_one_account_guessed_from_many_addresses_backs_off(client, world):
    for i in range(throttle.FREE_PER_ACCOUNT):
        assert _login(client, CLERK, "sai", ip=f"192.0.2.{i + 1}").status_code == 401
    assert _login(client, CLERK, PASSWORD, ip="192.0.2.200").status_code == 429
    assert _login(client, "lanhdao.tinh", PASSWORD, ip="192.0.2.200").status_code == 200


def test_the_back_off_grows_and_then_lets_the_rightful_user_in(client, world, engine):
    for _ in range(throttle.FREE_PER_PAIR):
        assert _login(client, CLERK, "sai").status_code == 401
    first = int(_login(client, CLERK, PASSWORD).headers["Retry-After"])
    assert 0 < first <= throttle.BASE_DELAY.total_seconds()
    _age_failures(engine, throttle.BASE_DELAY)  # the wait is over: one more try is allowed
    assert _login(client, CLERK, "sai").status_code == 401
    second = int(_login(client, CLERK, PASSWORD).headers["Retry-After"])
    assert second > throttle.BASE_DELAY.total_seconds()  # doubled
    _age_failures(engine, 2 * throttle.BASE_DELAY)
    assert _login(client, CLERK, PASSWORD).status_code == 200  # back-off, not a lockout
    with session_scope(engine) as s:  # success forgets the pair's own mistakes
        assert s.exec(sa.select(sa.func.count()).select_from(LoginFailure)).scalar_one() == 0


def test_failures_older_than_the_window_are_forgotten_and_pruned(client, world, engine):
    for _ in range(throttle.FREE_PER_PAIR):
        _login(client, CLERK, "sai")
    _age_failures(engine, throttle.WINDOW + timedelta(seconds=1))
    assert _login(client, "khong-co-ai", "x").status_code == 401
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(LoginFailure)).scalar_one() == 1
    assert _login(client, CLERK, PASSWORD).status_code == 200


class _ProbingHasher(PasswordHasher):
    """Checks, at the moment the password is verified, that another connection can still
    take the write lock (SQLite) — i.e. that the login holds no write transaction."""

    def __init__(self, engine: Any) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.engine, self.probes = engine, []

    def verify(self, hash: Any, password: Any) -> bool:  # noqa: A002 - argon2's own parameter name
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.execute("PRAGMA busy_timeout=0")
            raw.execute("BEGIN IMMEDIATE")  # raises 'database is locked' if the login holds the lock
            raw.execute("ROLLBACK")
        self.probes.append(True)
        return super().verify(hash, password)


def test_the_password_is_checked_outside_any_write_transaction(client, world, engine, monkeypatch):
    if engine.dialect.name != "sqlite":
        pytest.skip("probes SQLite's single write lock")
    probing = _ProbingHasher(engine)
    monkeypatch.setattr(accounts, "_hasher", probing)
    assert _login(client, CLERK, PASSWORD).status_code == 200
    assert _login(client, CLERK, "sai").status_code == 401
    assert len(probing.probes) == 2
