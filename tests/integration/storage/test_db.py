"""The database adapter, on SQLite and (in CI's second pass) PostgreSQL."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import UnitOfWork, check_connection, make_engine
from storage.migrations import upgrade
from storage.schema import import_all_models
from tests.conftest import TEST_DATABASE_URL
from tests.db import drop_everything


def _probe_values(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        return list(uow.session.execute(sa.text("SELECT v FROM probe ORDER BY id")).scalars())


def test_unit_of_work_keeps_only_what_is_committed(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT)")
    heard: list[str] = []
    with UnitOfWork(engine, write=True) as uow:
        uow.session.execute(sa.text("INSERT INTO probe (id, v) VALUES (1, 'kept')"))
        uow.after_commit(lambda: heard.append("kept"))
        assert heard == []  # hooks wait for the commit
        uow.commit()
        assert heard == ["kept"]
        uow.session.execute(sa.text("INSERT INTO probe (id, v) VALUES (2, 'after the commit')"))
        uow.after_commit(lambda: heard.append("never"))
    with UnitOfWork(engine, write=True) as uow:  # leaving without commit() rolls back
        uow.session.execute(sa.text("INSERT INTO probe (id, v) VALUES (3, 'not committed')"))
    try:
        with UnitOfWork(engine, write=True) as uow:
            uow.session.execute(sa.text("INSERT INTO probe (id, v) VALUES (4, 'lost')"))
            uow.after_commit(lambda: heard.append("never"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _probe_values(engine) == ["kept"]
    assert heard == ["kept"]


def test_a_failing_after_commit_hook_does_not_undo_the_commit(engine, caplog):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT)")
    heard: list[str] = []
    with UnitOfWork(engine, write=True) as uow:
        uow.session.execute(sa.text("INSERT INTO probe (id, v) VALUES (1, 'kept')"))
        uow.after_commit(lambda: 1 / 0)  # type: ignore[func-returns-value]
        uow.after_commit(lambda: heard.append("second"))
        uow.commit()
    assert _probe_values(engine) == ["kept"] and heard == ["second"]
    assert "after-commit hook failed" in caplog.text


def test_sqlite_runs_in_wal_with_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_migrations_build_the_schema_the_models_declare(database_url, tmp_path):
    """Alembic's head must equal the models: no table or column left out of a migration."""
    if TEST_DATABASE_URL:
        url = database_url
        drop_everything(url)
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), import_all_models())
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_check_connection_reports_unreachable_database():
    import pytest

    from storage.db import DatabaseUnavailable

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseUnavailable):
        check_connection(engine)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's pool (SQLite opens no server connection)")
def test_connections_opened_for_a_burst_stay_open_for_the_next_one(database_url):
    """More requests at once than SQLAlchemy's default pool keeps (5): every connection
    opened for them is kept, and the next burst reuses them all, opening none."""
    from storage.db import PG_POOL_SIZE

    engine = make_engine(database_url)
    burst = 8
    assert PG_POOL_SIZE >= burst

    def backends_of_a_burst() -> set[int]:
        conns = [engine.connect() for _ in range(burst)]  # held together, as concurrent requests hold them
        try:
            return {int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in conns}
        finally:
            for c in conns:
                c.close()

    try:
        first = backends_of_a_burst()
        assert len(first) == burst and engine.pool.checkedin() == burst  # type: ignore[attr-defined]
        assert backends_of_a_burst() == first
    finally:
        engine.dispose()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a PostgreSQL server's connections to kill")
def test_a_connection_idle_in_the_pool_is_pinged_and_a_dead_one_replaced(database_url, monkeypatch):
    """No ping (no round trip) for a connection used moments ago; one idle for longer is
    pinged at checkout, and one the server killed meanwhile is replaced, unseen by the caller."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    killer = make_engine(database_url)
    pings: list[int] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))

    def backend_pid() -> int:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    def kill(pid: int) -> None:
        with killer.begin() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one()

    try:
        monkeypatch.setattr("storage.db.PING_AFTER_IDLE_S", 60.0)
        first = backend_pid()
        assert backend_pid() == first and pings == []  # reused at once: no ping
        kill(first)
        with pytest.raises(sa.exc.OperationalError):  # not pinged: the statement meets the dead connection
            backend_pid()
        second = backend_pid()  # the disconnect invalidated the pool: a new connection
        assert second != first

        monkeypatch.setattr("storage.db.PING_AFTER_IDLE_S", 0.05)
        time.sleep(0.1)
        assert backend_pid() == second and pings == [1]  # idle: pinged, alive, kept
        kill(second)
        time.sleep(0.1)
        third = backend_pid()  # pinged, found dead, replaced: the caller saw nothing
        assert third not in (first, second) and len(pings) == 2
    finally:
        engine.dispose()
        killer.dispose()
GEVENT_WRITERS = """
from gevent import monkey; monkey.patch_all()
import sys, time, gevent
import sqlalchemy as sa
import storage.db as db
db.SQLITE_BUSY_TIMEOUT_S = 2
engine = db.make_engine(sys.argv[1])
with engine.begin() as conn:
    conn.exec_driver_sql("CREATE TABLE probe (v TEXT)")
seen = []

def paused_writer():
    with db.UnitOfWork(engine, write=True) as uow:
        uow.session.execute(sa.text("INSERT INTO probe VALUES ('paused')"))
        gevent.sleep(0.5)  # network I/O inside the write transaction, as an S3 put is
        uow.commit()

def second_writer():
    gevent.sleep(0.1)
    with db.UnitOfWork(engine, write=True) as uow:
        uow.session.execute(sa.text("INSERT INTO probe VALUES ('second')"))
        uow.commit()

def heartbeat():  # any other request of the worker: runs while the second writer waits
    for _ in range(10):
        seen.append(time.monotonic())
        gevent.sleep(0.1)

gevent.joinall([gevent.spawn(f) for f in (paused_writer, second_writer, heartbeat)], raise_error=True)
with engine.connect() as conn:
    print(sorted(conn.exec_driver_sql("SELECT v FROM probe").scalars()), max(b - a for a, b in zip(seen, seen[1:])))
"""


def test_sqlite_writers_of_one_gevent_worker_queue_without_freezing_it(tmp_path):
    """Under gevent a writer that waited in SQLite's busy handler (a sleep in C) stopped the
    whole worker, the writer it waited for included: 'database is locked' after the busy
    timeout, every other request frozen meanwhile. The engine's own lock queues them."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", GEVENT_WRITERS, f"sqlite:///{tmp_path / 'g.db'}"], cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    values, longest_gap = done.stdout.rsplit("]", 1)
    assert values + "]" == "['paused', 'second']"
    assert float(longest_gap) < 0.4  # the event loop kept turning (0.1 s beats)


def test_a_sqlite_writer_stuck_holding_the_engine_lock_makes_the_next_one_unavailable(tmp_path, monkeypatch):
    """The engine's writer lock is waited for as long as SQLite's busy timeout, no longer: a
    writer stuck inside its transaction makes the next writer's request a 503, as SQLite's own
    'database is locked' did, not a wait until gunicorn kills the worker."""
    import threading

    from storage import db

    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    engine = make_engine(f"sqlite:///{tmp_path / 'stuck.db'}")
    holding, let_go, outcome = threading.Event(), threading.Event(), []

    def stuck_writer() -> None:
        with UnitOfWork(engine, write=True):
            holding.set()
            let_go.wait(60)

    def next_writer() -> None:
        try:
            with UnitOfWork(engine, write=True):
                outcome.append("entered")
        except db.DatabaseUnavailable as exc:
            outcome.append(exc)

    stuck = threading.Thread(target=stuck_writer, daemon=True)
    stuck.start()
    try:
        assert holding.wait(10)
        waiter = threading.Thread(target=next_writer, daemon=True)
        waiter.start()
        waiter.join(10)  # a guard against hanging the suite, not a timing assertion
        assert outcome and isinstance(outcome[0], db.DatabaseUnavailable), outcome
    finally:
        let_go.set()
        stuck.join(10)
    with UnitOfWork(engine, write=True):  # the lock was given back: writers go on
        pass
    engine.dispose()
