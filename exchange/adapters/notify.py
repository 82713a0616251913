"""Wake-ups for long-polling inboxes, and the high-water marks that make an empty poll free.

One ``Notifier`` per ``Services`` object (one per process and database). It keeps, per recipient
agency, the highest inbox ``seq`` known to be committed (the *mark*). A poll whose cursor is at or past the mark answers
"nothing new" without touching the database; a poll for an agency without a mark runs its one
indexed query and, when that query finds the inbox exhausted, records the mark.

Marks are only trusted while something tells this process about every new delivery:

- PostgreSQL: a dispatch's transaction calls ``pg_notify('lienthong_inbox_<schema digest>', 'agency:seq,...')``;
  notifications are delivered at commit, to every process. One listener thread per process
  (psycopg 3, ``conn.notifies()``) raises the marks and wakes the waiters. While the listener
  is not connected every mark is dropped, so polls fall back to querying.
- SQLite: a watcher thread reads ``PRAGMA data_version`` on its own read-only connection every
  ``SQLITE_WATCH_INTERVAL_S``. The value changes whenever another connection (any process)
  commits; then every mark is dropped and every waiter wakes to run its one query. Cheap: the
  pragma reads the WAL index in shared memory, no file I/O.

In both cases a commit made by this process also raises the marks directly (an after-commit
hook of the unit of work), so local waiters wake at once. The background thread stops after ``IDLE_STOP_S`` without any
inbox use (dropping the marks), and starts again on the next poll.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable
from urllib.parse import quote

import sqlalchemy as sa
from sqlmodel import Session

from storage.db import UnitOfWork, normalise_url

log = logging.getLogger(__name__)

CHANNEL = "lienthong_inbox"
EVENTS_CHANNEL = "lienthong_events"  # the events feed's (agency, seq): its own marks
# A NOTIFY reaches every session of the database, whatever its schema: another deployment (or
# test) in another schema of the same database would raise marks past any real seq, and every
# poll would then query. So every channel is scoped to the schema: its name plus a digest of
# ``current_schema()``, computed by PostgreSQL on both sides (the listener's connection has the
# engine's search_path). ``{}``: where the channel's base name goes in the SQL.
_SCHEMA_CHANNEL = "CAST({} AS text) || '_' || left(md5(current_schema()), 12)"
PG_PAYLOAD_MAX = 7000  # PostgreSQL refuses payloads of 8000 bytes and more
SQLITE_WATCH_INTERVAL_S = 0.2
PG_RECONNECT_S = 1.0
IDLE_STOP_S = 120.0


class Notifier:
    """Per-process marks and waiters for one database."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = normalise_url(url)
        self.channel = channel  # the inbox's, or the events feed's (EVENTS_CHANNEL): marks of one kind of seq
        self.dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
        self._lock = threading.Lock()
        self._marks: dict[int, int] = {}
        self._versions: dict[int, int] = {}  # bumped on every news for the agency
        self._epoch = 0  # bumped when every mark is dropped
        self._waiters: dict[int, set[threading.Event]] = {}
        self._listening = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_used = 0.0
        self._closing = False

    # ---- marks -----------------------------------------------------------------------
    def snapshot(self, agency_id: int) -> tuple[int, int] | None:
        """A token to hand back to ``record_exhausted`` after the query (None: marks off)."""
        self.ensure_running()
        with self._lock:
            if not self._listening:
                return None
            return (self._epoch, self._versions.get(agency_id, 0))

    def nothing_after(self, agency_id: int, cursor: int) -> bool:
        """True when this process knows no delivery past ``cursor`` exists for the agency."""
        self.ensure_running()
        mark = self._marks.get(agency_id)  # a dict read is atomic; the lock is not needed
        return mark is not None and self._listening and cursor >= mark

    def record_exhausted(self, agency_id: int, last_seq: int, token: tuple[int, int] | None) -> None:
        """The query taken after ``snapshot`` found no delivery past ``last_seq``."""
        if token is None:
            return
        with self._lock:
            if self._listening and token == (self._epoch, self._versions.get(agency_id, 0)):
                self._marks[agency_id] = max(last_seq, self._marks.get(agency_id, 0))

    def published(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Deliveries ``(agency_id, seq)`` committed: raise marks, wake their waiters."""
        to_wake: list[threading.Event] = []
        with self._lock:
            for agency_id, seq in pairs:
                self._versions[agency_id] = self._versions.get(agency_id, 0) + 1
                if agency_id in self._marks and seq > self._marks[agency_id]:
                    self._marks[agency_id] = seq
                to_wake.extend(self._waiters.get(agency_id, ()))
        for event in to_wake:
            event.set()

    def invalidate_all(self) -> None:
        with self._lock:
            self._epoch += 1
            self._marks.clear()
            to_wake = [e for events in self._waiters.values() for e in events]
        for event in to_wake:
            event.set()

    # ---- waiting ---------------------------------------------------------------------
    def subscribe(self, agency_id: int) -> threading.Event:
        """An event set on news for the agency. Subscribe before looking, so that news
        arriving between the look and the wait is not missed."""
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(agency_id, set()).add(event)
        return event

    def unsubscribe(self, agency_id: int, event: threading.Event) -> None:
        with self._lock:
            waiters = self._waiters.get(agency_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[agency_id]

    @property
    def listening(self) -> bool:
        return self._listening

    # ---- stopping --------------------------------------------------------------------
    def close_waiters(self) -> None:
        """The process is stopping: every parked poll answers now, and no new one parks,
        so that the server's graceful stop need not outwait a minute-long ``wait``."""
        with self._lock:
            self._closing = True
            to_wake = [e for events in self._waiters.values() for e in events]
        for event in to_wake:
            event.set()

    @property
    def closing(self) -> bool:
        return self._closing

    # ---- the background thread -------------------------------------------------------
    def ensure_running(self) -> None:
        self._last_used = time.monotonic()
        thread, stop = self._thread, self._stop
        if thread is not None and thread.is_alive() and not stop.is_set():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
                return
            self._stop = threading.Event()
            target = self._listen_pg if self.dialect == "postgresql" else self._watch_sqlite
            self._thread = threading.Thread(target=self._run, args=(target, self._stop),
                                            name="lienthong-inbox-notifier", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (its engine was disposed); the next poll restarts it."""
        self._stop.set()
        self._set_listening(False)

    def _done(self, stop: threading.Event) -> bool:
        if stop.is_set():
            return True
        with self._lock:
            has_waiters = bool(self._waiters)
        return not has_waiters and time.monotonic() - self._last_used > IDLE_STOP_S

    def _set_listening(self, value: bool, stop: threading.Event | None = None) -> None:
        with self._lock:
            if stop is not None and stop is not self._stop:
                return  # an old thread winding down must not speak for the new one
            self._listening = value
        self.invalidate_all()

    def _run(self, target: Callable[[threading.Event], None], stop: threading.Event) -> None:
        try:
            target(stop)
        finally:
            self._set_listening(False, stop)

    def _watch_sqlite(self, stop: threading.Event) -> None:
        import sqlite3

        path = sa.engine.make_url(self.url).database
        if not path or path == ":memory:":  # private to one connection: nothing to watch, marks stay off
            while not self._done(stop):
                stop.wait(1.0)
            return
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        try:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            self._set_listening(True, stop)
            while not stop.wait(SQLITE_WATCH_INTERVAL_S) and not self._done(stop):
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                if now != version:
                    version = now
                    self.invalidate_all()
        except sqlite3.Error as exc:
            log.warning("inbox watcher stopped: %s", exc)
        finally:
            conn.close()

    def _listen_pg(self, stop: threading.Event) -> None:
        import psycopg

        url = sa.engine.make_url(self.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._done(stop):
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                    listen(conn, self.channel)
                    self._set_listening(True, stop)
                    while not self._done(stop):
                        for note in conn.notifies(timeout=1.0):
                            self.published(parse_payload(note.payload))
            except psycopg.Error as exc:
                log.warning("inbox listener lost its connection: %s", str(exc).splitlines()[0] if str(exc) else exc)
                self._set_listening(False, stop)
                stop.wait(PG_RECONNECT_S)
                continue
            return


def format_payloads(pairs: Iterable[tuple[int, int]]) -> list[str]:
    payloads, current = [], ""
    for agency_id, seq in pairs:
        item = f"{agency_id}:{seq}"
        if current and len(current) + len(item) + 1 > PG_PAYLOAD_MAX:
            payloads.append(current)
            current = ""
        current = f"{current},{item}" if current else item
    if current:
        payloads.append(current)
    return payloads


def parse_payload(payload: str) -> list[tuple[int, int]]:
    pairs = []
    for item in payload.split(","):
        agency, _, seq = item.partition(":")
        if agency.isdigit() and seq.isdigit():
            pairs.append((int(agency), int(seq)))
    return pairs


def announce(uow: UnitOfWork, notifier: Notifier, pairs: list[tuple[int, int]]) -> None:
    """Tell every process about new deliveries ``(agency_id, seq)`` once the unit of work commits."""
    if not pairs:
        return
    notify_at_commit(uow.session, notifier.channel, pairs)
    uow.after_commit(lambda: notifier.published(pairs))


def notify_at_commit(session: Session, channel: str, pairs: list[tuple[int, int]]) -> None:
    """PostgreSQL: ``pg_notify`` in the transaction, delivered at commit to every process
    (SQLite has no such thing: its watchers see the commit through ``data_version``)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = sa.text(f"SELECT pg_notify({_SCHEMA_CHANNEL.format(':channel')}, :payload)")
        for payload in format_payloads(pairs):
            session.execute(statement, {"channel": channel, "payload": payload})


def listen(conn: Any, channel: str) -> None:
    """``LISTEN`` on ``channel`` of the schema ``conn`` (a psycopg connection) is in."""
    from psycopg import sql

    name = conn.execute(f"SELECT {_SCHEMA_CHANNEL.format('%s')}", (channel,)).fetchone()[0]
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(name)))
