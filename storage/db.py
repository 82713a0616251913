"""The database engine (SQLModel over SQLAlchemy), the unit of work and the UTC time column.

SQLite (the embedded default) runs in WAL mode with a busy timeout so that several
processes can write; PostgreSQL is reached through psycopg 3. The schema is managed by
Alembic migrations (``storage.migrations``).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time
import threading
import weakref
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, cast

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session, col

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 10
PG_POOL_SIZE = 15  # connections per engine (per worker), opened on demand: budget workers × (15 + 2)
# One per SQLite engine: the process's writers queue here (a gevent lock once gevent has patched
# threading) before SQLite's own lock. SQLite's busy wait sleeps in C: under gevent it blocks
# the worker's whole event loop, so a writer waiting there would stop the writer it waits for
# (paused in I/O, e.g. an S3 put, inside its transaction) until the busy timeout, and freeze
# every request of the worker meanwhile (bench/soak.py found it: /healthz p99 10 s, 503s).
_sqlite_write_locks: "weakref.WeakKeyDictionary[Engine, threading.RLock]" = weakref.WeakKeyDictionary()


class DatabaseUnavailable(RuntimeError):
    """The database did not answer."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A point in time, always timezone-aware UTC in Python whatever the database.

    SQLite keeps no offset (SQLAlchemy stores naive text), PostgreSQL ``timestamptz`` does:
    values are converted to UTC on the way in and come back aware on the way out, so no code
    above this column ever meets a naive datetime.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime cannot be stored as UTC: {value!r}")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def key(column: int | None) -> Mapped[int]:
    """``sqlmodel.col`` for an integer primary key. The model says ``Optional[int]`` because an
    object has no id before its INSERT; a row read back always has one, and this says so."""
    return cast("Mapped[int]", col(column))


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(path))
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, **kwargs
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that
            # BEGIN IMMEDIATE below takes the write lock up front (no upgrade deadlocks).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get("lienthong_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        _sqlite_write_locks[engine] = threading.RLock()
        return engine
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    # SQLAlchemy's default (5 kept, 10 more opened when busy) closes each of the 10 as it is
    # returned while 5 wait idle: a gevent worker serving more than 5 requests at once then
    # opened and closed a PostgreSQL connection for most of them (a backend forked, the
    # login, its catalogue caches filled, the inbox's statement prepared again: more CPU than
    # the inbox page itself). The same ceiling, kept: none is opened until it is needed, none
    # is closed once it was (docs/benchmarks.md, "Inbox on PostgreSQL").
    kwargs.setdefault("pool_size", PG_POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    engine = sa.create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 5.0


def ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection idle in the pool for
    ``PING_AFTER_IDLE_S`` or more. ``pool_pre_ping`` costs one round trip at every checkout: as much as the
    inbox page's own query. A connection returned less than that ago was alive then;
    should the server die in between, the request's statement fails, SQLAlchemy sees the
    disconnect and invalidates the whole pool (as after a failed ping). A dead connection
    found by the ping raises ``DisconnectionError``: the pool replaces it and checks out
    again (SQLAlchemy's documented "pessimistic" handling)."""

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["lienthong.returned_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("lienthong.returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_S:
            return  # just opened, or in use moments ago
        try:
            if not engine.dialect.do_ping(dbapi_conn):
                raise sa.exc.DisconnectionError("the database connection did not answer a ping")
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by the service's user alone, whatever the umask;
    SQLite gives its -wal and -shm files the database file's permissions."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    os.chmod(path, 0o600)  # os.open's mode is filtered by the umask


def describe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def full_url(engine: Engine) -> str:
    """The engine's URL with its password: for connections of our own (listener, Alembic)."""
    return engine.url.render_as_string(hide_password=False)


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        raise DatabaseUnavailable(reason[0] if reason else type(exc).__name__) from None


def is_missing_table(exc: BaseException) -> bool:
    """True when a database error says a table does not exist: the schema was never migrated."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) == "42P01":  # PostgreSQL undefined_table
        return True
    return "no such table" in str(exc.orig)


def is_disk_full(exc: BaseException) -> bool:
    """True when a database error says its disk is full (SQLite's SQLITE_FULL, PostgreSQL's
    ``disk_full``): waiting cures nothing, an operator must make room."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    orig = exc.orig
    return (getattr(orig, "sqlstate", None) == "53100"
            or getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL)


def execute_dml(session: Session, statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE; the number of rows it matched. (``Session.execute`` is typed
    as returning a plain ``Result``: for these statements it is a ``CursorResult``.)"""
    result = session.execute(statement)
    assert isinstance(result, sa.CursorResult)
    return result.rowcount


class UnitOfWork:
    """One transaction, with a boundary you can see.

    Nothing is kept unless :meth:`commit` is called: leaving the block rolls back whatever
    was not committed, on an error or not. Callbacks given to :meth:`after_commit` run once
    the commit has succeeded (waking long-polls, clearing caches) and are dropped on rollback,
    so no process ever hears of a change that did not happen.

    ``write=True`` takes SQLite's write lock when the transaction begins, so two writers queue
    on the busy timeout instead of failing to upgrade a read lock; writers of one process
    queue first on the engine's own lock (``_sqlite_write_locks``), held to the block's end.
    """

    def __init__(self, engine: Engine, *, write: bool = False, context: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.write = write
        # handed to the session's ``info`` (with the unit of work itself): what code that only
        # gets the session needs to act at commit, e.g. the events feed's notifier
        self.context = context or {}
        self._hooks: list[Callable[[], None]] = []
        self._session: Session | None = None
        self._lock = _sqlite_write_locks.get(engine) if write else None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open (use it in a with block)")
        return self._session

    def __enter__(self) -> "UnitOfWork":
        # no longer than SQLite's own busy wait: a writer stuck in its transaction makes the
        # others a 503, as SQLite's 'database is locked' would, not a wait until gunicorn's timeout
        if self._lock is not None and not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
            raise DatabaseUnavailable(f"another writer of this process held the SQLite write lock for "
                                      f"{SQLITE_BUSY_TIMEOUT_S} s")
        bind = self.engine.execution_options(lienthong_write=True) if self.write else self.engine
        self._session = Session(bind, expire_on_commit=False, info={**self.context, "unit_of_work": self})
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        session, self._session = self.session, None
        self._hooks.clear()
        try:
            # close() rolls back what was not committed and detaches the objects read, keeping
            # their loaded values (rollback() would expire them: reads would then fail outside)
            session.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def commit(self) -> None:
        self.session.commit()
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - the change is committed; a failed wake-up must not undo the answer
                log.exception("after-commit hook failed")

    def rollback(self) -> None:
        self._hooks.clear()
        self.session.rollback()

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)
