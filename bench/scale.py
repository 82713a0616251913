"""A year of a country's mail on PostgreSQL beside a 1,000-delivery database, in one run.

Fills a database of its own (``lienthong_scale``; reused as it is with ``--keep``, otherwise
dropped first and at the end) through the migrations and then ``COPY`` (psycopg): the
national directory (≈111,000 agencies in a tree: a root, 34 provinces, 3,321 communes, the
rest units under them), ``--documents`` sent documents (revision, dispatch, outgoing
register line each) and ``--deliveries`` deliveries (gapless ``seq`` per recipient, one
events-feed row each; one in ten accepted: two status events, a số đến and an incoming
register line), and an audit chain of ``--audit-events`` events. A second database
(``lienthong_scale_small``) gets the same directory and 1,000 deliveries. Recipients and
issuers are drawn from pools sized so that an agency holds about as much in both (≈90
deliveries, ≈9 documents a year): what differs is only the size of the tables around it.

Then, on both, the service's own functions (``Services`` over the database, no HTTP):
inbox page (50 items, the dispatch cache emptied each time; and one whose dispatches are
cached) p50/p99, empty poll (the query a poll costs when the process knows
nothing), events feed page, dispatch to the 3,321 communes, ack, registers for a year
(incoming and outgoing), the sender's delivery view of the 3,321-recipient document, and
audit chain verification throughput; ``EXPLAIN (ANALYZE, BUFFERS)`` of each hot path's
statements on the big database; disk size per million deliveries.

    .venv/bin/python bench/scale.py [--documents 1000000] [--deliveries 10000000] [--audit-events 200000]
                                    [--samples 200] [--keep] [--database-url URL]

``--database-url`` (default ``$LIENTHONG_TEST_DATABASE_URL``) names the server: a role that
may create databases. Targets: p99 on the big database ≤ 1.5× the small one's for every
per-request path; dispatch ≤ 1 s.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from exchange.adapters.audit_log import GENESIS_HASH, canonical_json, event_hash  # noqa: E402
from exchange.domain.caller import Caller  # noqa: E402
from exchange.domain.enums import CallerKind  # noqa: E402
from storage.db import make_engine, normalise_url  # noqa: E402

if TYPE_CHECKING:
    from bootstrap import Services

AGENCIES = 111_000
PROVINCES = 34
COMMUNES = 3_321
SMALL_DELIVERIES = 1_000
PER_RECIPIENT = 90  # deliveries an agency holds, on both databases
PER_ISSUER = 9  # documents an agency issues
ACCEPTED_EVERY = 10  # one delivery in ten was accepted (registered)
YEAR = 2025
START = datetime(YEAR, 1, 1, tzinfo=timezone.utc)
PAGE = 50
LIMIT = 200  # the inbox's largest page
WARM_AGENCIES = 40  # whose dispatches the warm inbox page has in the cache (≤ 40 × 90 of its 20,000)


def agency_code(agency_id: int) -> str:
    """A unique code of the QCVN 102 shape for each id."""
    digits = f"{agency_id:09d}"
    return f"{digits[:3]}.{digits[3:5]}.{digits[5:7]}.H{digits[7:]}"


def parent_of(agency_id: int) -> int | None:
    """1 the root, 2..35 provinces, then communes under provinces, then units under communes
    and provinces."""
    if agency_id == 1:
        return None
    if agency_id <= 1 + PROVINCES:
        return 1
    if agency_id <= 1 + PROVINCES + COMMUNES:
        return 2 + (agency_id % PROVINCES)
    return 2 + PROVINCES + (agency_id % COMMUNES) if agency_id % 3 else 2 + (agency_id % PROVINCES)


def level_of(agency_id: int) -> str:
    if agency_id == 1:
        return "other"
    if agency_id <= 1 + PROVINCES:
        return "province"
    return "commune" if agency_id <= 1 + PROVINCES + COMMUNES else "department"


@dataclass(frozen=True)
class Sizes:
    agencies: int
    documents: int
    deliveries: int
    audit_events: int

    @property
    def fanout(self) -> int:
        return max(1, self.deliveries // self.documents)

    @property
    def recipients(self) -> int:
        """The recipients' pool: agencies 2 .. 1 + recipients."""
        return min(self.agencies - 1, max(self.fanout * 2, self.deliveries // PER_RECIPIENT))

    @property
    def issuers(self) -> int:
        return min(self.agencies - 1, max(1, self.documents // PER_ISSUER))


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _copy(cur: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


FILLED = ("agency", "document", "revision", "dispatch", "delivery", "agency_event", "status_event", "register_entry",
          "counter", "audit_event", "audit_head")


def fill(url: str, sizes: Sizes, log: Callable[[str], None] = print) -> None:
    """Migrate ``url`` to head and fill it (it must be empty) with ``sizes`` of mail."""
    from storage.migrations import upgrade

    upgrade(url)
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        with conn.cursor() as cur:
            # the foreign keys hold by construction: no per-row check while loading
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            _fill(cur, sizes, log)
            cur.execute("SET session_replication_role = origin")
        conn.commit()
        started = time.perf_counter()
        conn.autocommit = True
        # the visibility map (index-only scans) and the planner's statistics, of the tables filled
        conn.execute("VACUUM ANALYZE " + ", ".join(FILLED))
        log(f"  vacuum analyze: {time.perf_counter() - started:.1f} s")
    finally:
        raw.close()
        engine.dispose()


def _fill(cur: Any, sizes: Sizes, log: Callable[[str], None]) -> None:
    def step(name: str, count: int, started: float) -> None:
        log(f"  {name}: {count:,} rows in {time.perf_counter() - started:.1f} s")

    year_s = 365 * 24 * 3600 - 1
    started = time.perf_counter()
    now = _stamp(START)
    n = _copy(cur, "agency", "id, code, name, short_name, level, parent_id, allow_unsigned_info, created_at",
              ((i, agency_code(i), f"Cơ quan {i}", "", level_of(i), parent_of(i), False, now)
               for i in range(1, sizes.agencies + 1)))
    step("agency", n, started)

    docs, fanout = sizes.documents, sizes.fanout
    doc_at = [_stamp(START + timedelta(seconds=d * year_s // docs)) for d in range(docs + 1)]
    issuer = [0] + [2 + (d * 7919) % sizes.issuers for d in range(1, docs + 1)]
    started = time.perf_counter()
    out_numbers = [0] * (sizes.agencies + 2)

    def documents() -> Iterator[tuple[Any, ...]]:
        for d in range(1, docs + 1):
            out_numbers[issuer[d]] += 1
            yield (d, issuer[d], str(out_numbers[issuer[d]]), "UBND-VP", "Công văn", f"Về việc số {d}", "normal",
                   "normal", doc_at[d][:10], "Hà Nội", "Nguyễn Văn A", "Chủ tịch", "sent",
                   f"{out_numbers[issuer[d]]} ubnd-vp ve viec so {d}", doc_at[d], doc_at[d])
    n = _copy(cur, "document", "id, issuer_agency_id, number, notation, doc_type, subject, urgency, confidentiality, "
              "issued_on, place, signer_name, signer_position, state, search_text, created_at, updated_at",
              documents())
    step("document", n, started)
    started = time.perf_counter()
    n = _copy(cur, "revision", "id, document_id, seq, blob_sha256, size, kind, profile, level, created_at",
              ((d, d, 1, hashlib.sha256(str(d).encode()).hexdigest(), 48_213, "signed", "seal", "B-LT", doc_at[d])
               for d in range(1, docs + 1)))
    n += _copy(cur, "dispatch", "id, document_id, revision_id, sender_agency_id, idempotency_key, already_delivered, "
               "request_sha256, created_at",
               ((d, d, d, issuer[d], f"scale-{d}", "[]", "0" * 64, doc_at[d]) for d in range(1, docs + 1)))
    step("revision + dispatch", n, started)

    seq = [0] * (sizes.agencies + 2)
    incoming = [0] * (sizes.agencies + 2)
    accepted: list[tuple[int, int, int, int]] = []  # delivery, document, recipient, number
    pool, stride = sizes.recipients, max(1, sizes.recipients // fanout)
    started = time.perf_counter()

    def deliveries() -> Iterator[tuple[Any, ...]]:
        k = 0
        for d in range(1, docs + 1):
            at = doc_at[d]
            base = (d * 104_729) % pool
            for j in range(fanout):
                if k >= sizes.deliveries:
                    return
                k += 1
                r = 2 + (base + j * stride) % pool
                seq[r] += 1
                if k % ACCEPTED_EVERY == 0:
                    incoming[r] += 1
                    accepted.append((k, d, r, incoming[r]))
                    yield (k, d, d, r, r, seq[r], "accepted", incoming[r], YEAR, "[]", at, at, at, at)
                else:
                    yield (k, d, d, r, r, seq[r], "queued", None, None, "[]", at, None, None, at)
    n = _copy(cur, "delivery", "id, dispatch_id, document_id, recipient_agency_id, addressed_agency_id, seq, status, "
              "incoming_number, incoming_year, trace, created_at, fetched_at, acked_at, updated_at", deliveries())
    step("delivery", n, started)
    total_deliveries = n

    started = time.perf_counter()
    event_seq = [0] * (sizes.agencies + 2)

    def agency_events() -> Iterator[tuple[Any, ...]]:
        k = 0
        for d in range(1, docs + 1):
            base = (d * 104_729) % pool
            for j in range(fanout):
                if k >= total_deliveries:
                    return
                k += 1
                r = 2 + (base + j * stride) % pool
                event_seq[r] += 1
                yield (k, r, event_seq[r], f"{k:036d}", "delivery.created", doc_at[d], k, d, "{}")
    n = _copy(cur, "agency_event", "id, agency_id, seq, outbox_id, kind, at, delivery_id, document_id, data",
              agency_events())
    step("agency_event", n, started)

    started = time.perf_counter()

    def status_events() -> Iterator[tuple[Any, ...]]:
        i = 0
        for k, d, r, _number in accepted:
            for status, code in (("delivered", "01"), ("accepted", "03")):
                i += 1
                yield (i, k, status, code, f"system:{agency_code(r)}", doc_at[d], "")
    n = _copy(cur, "status_event", "id, delivery_id, status, code, actor, at, reason", status_events())
    step("status_event", n, started)

    started = time.perf_counter()

    def register_entries() -> Iterator[tuple[Any, ...]]:
        i, numbers = 0, [0] * (sizes.agencies + 2)
        for d in range(1, docs + 1):
            i += 1
            numbers[issuer[d]] += 1
            yield (i, issuer[d], "outgoing", YEAR, numbers[issuer[d]], d, None, f"Cơ quan {issuer[d]}",
                   f"{numbers[issuer[d]]}/UBND-VP", doc_at[d][:10], "Công văn", f"Về việc số {d}", "Nguyễn Văn A", "Bản lưu", "",
                   "clerk", doc_at[d])
        for k, d, r, number in accepted:
            i += 1
            yield (i, r, "incoming", YEAR, number, d, k, f"Cơ quan {issuer[d]}", f"{d}/UBND-VP", doc_at[d][:10],
                   "Công văn", f"Về việc số {d}", "Nguyễn Văn A", "Văn phòng", "", "clerk", doc_at[d])
    n = _copy(cur, "register_entry", "id, agency_id, kind, year, number, document_id, delivery_id, author, "
              "reference, document_date, doc_type, subject, signer, handler, note, registered_by, registered_at", register_entries())
    step("register_entry", n, started)

    started = time.perf_counter()

    def counters() -> Iterator[tuple[Any, ...]]:
        for a in range(1, sizes.agencies + 1):
            for name, values in (("inbox", seq), ("events", event_seq), (f"incoming:{YEAR}", incoming),
                                 (f"outgoing:{YEAR}", out_numbers)):
                if values[a]:
                    yield (a, name, values[a])
    n = _copy(cur, "counter", "agency_id, name, value", counters())
    step("counter", n, started)

    started = time.perf_counter()
    chain = {"hash": GENESIS_HASH}

    def audit_events() -> Iterator[tuple[Any, ...]]:
        prev = GENESIS_HASH
        for s in range(1, sizes.audit_events + 1):
            at = START + timedelta(seconds=s * year_s // sizes.audit_events)
            d = 1 + s % docs
            actor, agency, action, obj = "clerk", agency_code(issuer[d]), "dispatch.create", f"document:{d}"
            details = {"document_id": d, "recipients": fanout}
            digest = event_hash(prev, seq=s, at=at, actor=actor, agency_code=agency, action=action, object=obj,
                                details=details)
            yield (s, _stamp(at), actor, agency, action, obj, canonical_json(details), prev, digest)
            prev = digest
        chain["hash"] = prev
    n = _copy(cur, "audit_event", "seq, at, actor, agency_code, action, object, details, prev_hash, hash",
              audit_events())
    cur.execute("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, %s, %s)", (n, chain["hash"]))
    step("audit_event", n, started)

    for table, column in (("agency", "id"), ("document", "id"), ("revision", "id"), ("dispatch", "id"),
                          ("delivery", "id"), ("agency_event", "id"), ("status_event", "id"),
                          ("register_entry", "id"), ("audit_event", "seq")):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"(SELECT coalesce(max({column}), 0) + 1 FROM {table}), false)")


# ---- measuring -----------------------------------------------------------------------------
def agency_caller(agency_id: int) -> Caller:
    return Caller(CallerKind.AGENCY, agency_id, agency_code(agency_id), None, None, frozenset(), None)


def clerk_caller(agency_id: int) -> Caller:
    return Caller(CallerKind.USER, agency_id, agency_code(agency_id), None, "scale-clerk", frozenset({"clerk"}), None)


class Statements:
    """The SELECTs a call runs through the engine, kept for EXPLAIN."""

    def __init__(self, engine: sa.Engine) -> None:
        self.seen: dict[str, Any] = {}
        self.on = False
        sa.event.listen(engine, "before_cursor_execute", self._heard)

    def _heard(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               executemany: bool) -> None:
        if self.on and not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.seen.setdefault(statement, parameters)


@dataclass
class Timing:
    name: str
    per_request: bool
    samples: list[float]

    def p(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _sealed_documents(engine: sa.Engine, count: int) -> list[int]:
    """Documents of the root, sealed, ready to be dispatched to every commune."""
    with engine.begin() as conn:
        ids = []
        for i in range(count):
            doc = conn.execute(sa.text(
                "INSERT INTO document (issuer_agency_id, number, notation, doc_type, subject, urgency, confidentiality,"
                " place, signer_name, signer_position, state, search_text, created_at, updated_at) VALUES (1, :n, "
                "'VPCP', 'Thông báo', 'Thông báo toàn quốc', 'normal', 'normal', 'Hà Nội', 'A', 'B', 'sealed', '',"
                " now(), now()) RETURNING id"), {"n": f"T{i}"}).scalar_one()
            conn.execute(sa.text("INSERT INTO revision (document_id, seq, blob_sha256, size, kind, created_at) "
                                 "VALUES (:d, 1, :h, 1, 'signed', now())"), {"d": doc, "h": "0" * 64})
            ids.append(doc)
    return ids


@dataclass
class Probe:
    name: str
    per_request: bool
    call: Callable[[], Any]
    samples: int


def probes(svc: "Services", sizes: Sizes, samples: int, rounds_dispatch: int) -> list[Probe]:
    """Each measured path of one database, as a call to time (in this order: the sender's
    view reads the documents the dispatches sent)."""
    from exchange.services import delivery, events, inbox, registers, tracking
    from exchange.services.dispatch import Recipients, dispatch_document

    rng = random.Random(13)
    engine = svc.engine
    with engine.connect() as conn:
        counts = dict(conn.execute(sa.text("SELECT agency_id, value FROM counter WHERE name = 'inbox'")).all())
        event_counts = dict(conn.execute(sa.text("SELECT agency_id, value FROM counter WHERE name = 'events'")).all())
        queued = [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, recipient_agency_id FROM delivery WHERE status = 'queued' AND id % 97 = 0 LIMIT :n"),
            {"n": samples + 10})]
    rng.shuffle(queued)
    full = [a for a, v in counts.items() if v >= PAGE]
    full_events = [a for a, v in event_counts.items() if v >= PAGE]
    assert full and full_events, "no agency holds a full page"
    issuers = list(range(2, 2 + sizes.issuers))
    documents = iter(_sealed_documents(engine, rounds_dispatch + 4))
    sent: list[int] = []

    def page() -> None:
        agency = rng.choice(full)
        svc.dispatch_cache.shared.clear()  # every page reads its dispatches: the same work on both
        assert len(inbox.fetch(svc, agency, rng.randrange(0, counts[agency] - PAGE + 1), PAGE)) == PAGE

    warm_agencies = rng.sample(full, min(len(full), WARM_AGENCIES))
    warmed: list[bool] = []

    def warm_page() -> None:
        """A page whose dispatches this process has already built (a dispatch reaches thousands
        of inboxes: the common case): what is left is the recipient's own rows."""
        if not warmed:  # the first call is one of _warm's, untimed
            svc.dispatch_cache.shared.clear()
            for agency in warm_agencies:
                for after in range(0, counts[agency], LIMIT):
                    inbox.fetch(svc, agency, after, LIMIT)
            warmed.append(True)
        agency = rng.choice(warm_agencies)
        assert len(inbox.fetch(svc, agency, rng.randrange(0, counts[agency] - PAGE + 1), PAGE)) == PAGE

    def empty() -> None:
        agency = rng.choice(full)
        with engine.connect() as conn:
            assert not inbox._read_rows(conn, {"agency": agency, "after": counts[agency], "limit": PAGE})

    def feed() -> None:
        agency = rng.choice(full_events)
        assert len(events.fetch(svc, agency, rng.randrange(0, event_counts[agency] - PAGE + 1), PAGE)) == PAGE

    def ack() -> None:
        delivery_id, agency = queued.pop()
        delivery.acknowledge(svc, agency_caller(agency), delivery_id)

    def dispatch() -> None:
        doc = next(documents)
        view, created = dispatch_document(svc, agency_caller(1), doc, Recipients(children_of=agency_code(1),
                                                                                 level="commune"), f"nation-{doc}")
        assert created and len(view["deliveries"]) == COMMUNES
        sent.append(doc)

    return [
        Probe("inbox page (50 items)", True, page, samples),
        Probe("empty poll (its query)", True, empty, samples),
        Probe("events feed page (50)", True, feed, samples),
        Probe("inbox page, dispatches cached", True, warm_page, samples),
        Probe("ack", True, ack, min(samples, len(queued) - 4)),
        Probe("register incoming, a year", True, lambda: registers.register_rows(
            svc, clerk_caller(rng.choice(full)), "incoming", YEAR), samples),
        Probe("register outgoing, a year", True, lambda: registers.register_rows(
            svc, clerk_caller(rng.choice(issuers)), "outgoing", YEAR), samples),
        Probe("dispatch to 3,321 communes", False, dispatch, rounds_dispatch),
        Probe("sender's view, 3,321 recipients", True, lambda: tracking.document_deliveries(
            svc, agency_caller(1), rng.choice(sent)), max(5, samples // 10)),
    ]


def _warm(probe: Probe, statements: Statements | None) -> list[Any]:
    for _ in range(3):
        probe.call()  # connections, prepared statements, caches of the process
    if statements is None:
        return []
    statements.seen.clear()
    statements.on = True
    probe.call()
    statements.on = False
    return list(statements.seen.items())


def _verify_rate(svc: "Services") -> Timing:
    from exchange.services import audit

    started = time.perf_counter()
    check = audit.verify_chain(svc)
    elapsed = time.perf_counter() - started
    assert check.ok, check
    return Timing(f"audit verify ({check.checked:,} events), events/s", False, [check.checked / elapsed])


def side_by_side(small: "Services", big: "Services", small_sizes: Sizes, big_sizes: Sizes, samples: int,
                 rounds_dispatch: int, statements: Statements | None = None
                 ) -> tuple[list[Timing], list[Timing], dict[str, list[Any]]]:
    """Each path on both databases, sample by sample alternately: the machine's load, whatever
    it is at each moment, falls on both alike. ``statements`` (of ``big``) keeps what to EXPLAIN."""
    small_timings: list[Timing] = []
    big_timings: list[Timing] = []
    queries: dict[str, list[Any]] = {}
    for s_probe, b_probe in zip(probes(small, small_sizes, samples, rounds_dispatch),
                                probes(big, big_sizes, samples, rounds_dispatch), strict=True):
        _warm(s_probe, None)
        queries[b_probe.name] = _warm(b_probe, statements)
        times: tuple[list[float], list[float]] = ([], [])
        for _ in range(min(s_probe.samples, b_probe.samples)):
            for probe, out in ((s_probe, times[0]), (b_probe, times[1])):
                started = time.perf_counter()
                probe.call()
                out.append(time.perf_counter() - started)
        small_timings.append(Timing(s_probe.name, s_probe.per_request, times[0]))
        big_timings.append(Timing(b_probe.name, b_probe.per_request, times[1]))
    small_timings.append(_verify_rate(small))
    big_timings.append(_verify_rate(big))
    return small_timings, big_timings, queries


def explain(engine: sa.Engine, queries: dict[str, list[Any]], page_params: dict[str, int]) -> None:
    from exchange.services import inbox

    with engine.connect() as conn:
        sql, compiled = inbox._compile_rows(conn.dialect)
        queries = {"inbox page, the one statement": [(sql, compiled.construct_params(page_params))], **queries}
        for name, found in queries.items():
            print(f"--- EXPLAIN, {name}")
            for statement, params in found[:12]:
                print("  " + " ".join(statement.split())[:160])
                with conn.begin():
                    plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + statement,
                                                params).scalars().all()
                    conn.rollback()
                planning = False
                for line in plan:  # every node's buffers (the pages it touched: a cold cache reads them)
                    planning = line.startswith("Planning") or (planning and line.startswith(" "))
                    if planning:
                        continue
                    print("    " + (line if len(line) < 180 else line[:177] + "..."))


def database_url(server: str, name: str) -> str:
    return make_url(normalise_url(server)).set(database=name).render_as_string(hide_password=False)


def recreate(server: str, name: str, keep: bool) -> bool:
    """Create database ``name``; with ``keep``, an existing one is kept: True when it was."""
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}).scalar()
            if exists and keep:
                return True
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            return False
    finally:
        admin.dispose()


def filled_as(url: str, sizes: Sizes) -> bool:
    """A kept database holds a whole fill of ``sizes`` (the last table filled is the audit chain)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            deliveries = conn.exec_driver_sql("SELECT max(id) FROM delivery").scalar()
            audit = conn.exec_driver_sql("SELECT last_seq FROM audit_head").scalar()
            return deliveries is not None and deliveries >= sizes.deliveries and (audit or 0) >= sizes.audit_events
    except sa.exc.ProgrammingError:  # never migrated
        return False
    finally:
        engine.dispose()


def drop(server: str, name: str) -> None:
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


PAGE_INDEXES = ("ix_delivery_page", "ix_delivery_page_long", "ix_agency_event_page", "ix_agency_event_page_long")


def sizes_of(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "database": conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one(),
            "delivery": conn.exec_driver_sql("SELECT pg_total_relation_size('delivery')").scalar_one(),
            "agency_event": conn.exec_driver_sql("SELECT pg_total_relation_size('agency_event')").scalar_one(),
            # the feeds' covering indexes (migration 0017), included in the figures above
            "page indexes": conn.exec_driver_sql(
                "SELECT coalesce(sum(pg_relation_size(oid)), 0)::bigint FROM pg_class WHERE relkind = 'i' AND relname IN "
                "(" + ", ".join(f"'{name}'" for name in PAGE_INDEXES) + ") AND relnamespace = current_schema()::regnamespace"
            ).scalar_one(),
            "deliveries": conn.exec_driver_sql("SELECT count(*) FROM delivery").scalar_one(),
        }


def migrate_kept(url: str) -> None:
    """A kept database brought to the head: an index added since it was filled is built on its
    rows (CONCURRENTLY, as the migration does it in production), then the tables are vacuumed
    (the visibility map an index-only scan needs) and analysed."""
    from storage.migrations import current_revision, head_revision, upgrade

    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        at = current_revision(engine)
        if at == head_revision():
            return
        started = time.perf_counter()
        upgrade(url)
        built = time.perf_counter() - started
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE delivery, agency_event")
        print(f"the kept database migrated from {at} to {head_revision()}: {built:.0f} s, "
              f"then VACUUM ANALYZE {time.perf_counter() - started - built:.0f} s")
    finally:
        engine.dispose()


def filled_services(url: str, sizes: Sizes, filled: bool, label: str, data_dir: Path) -> "Services":
    from tests.db import build_services

    if not filled:
        started = time.perf_counter()
        print(f"filling {label}: {sizes}")
        fill(url, sizes)
        print(f"  filled in {time.perf_counter() - started:.0f} s")
    return build_services(url, data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=10_000_000)
    parser.add_argument("--audit-events", type=int, default=200_000)
    parser.add_argument("--agencies", type=int, default=AGENCIES)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--dispatches", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse lienthong_scale if it exists; do not drop it")
    parser.add_argument("--database-url", default=os.environ.get("LIENTHONG_TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.database_url:  # `make bench` runs every bench: this one has nothing to run on
        print("skipped: no --database-url nor LIENTHONG_TEST_DATABASE_URL (a PostgreSQL server)")
        return
    big = Sizes(args.agencies, args.documents, args.deliveries, args.audit_events)
    small = Sizes(args.agencies, SMALL_DELIVERIES // big.fanout, SMALL_DELIVERIES, SMALL_DELIVERIES)
    big_name, small_name = "lienthong_scale", "lienthong_scale_small"
    kept = recreate(args.database_url, big_name, args.keep)
    big_url, small_url = database_url(args.database_url, big_name), database_url(args.database_url, small_name)
    if kept and not filled_as(big_url, big):
        print(f"{big_name} was not filled with these sizes: filled again")
        kept = recreate(args.database_url, big_name, False)
    if kept:
        migrate_kept(big_url)
    recreate(args.database_url, small_name, False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            small_svc = filled_services(small_url, small, False, "the small database", Path(tmp) / "small")
            big_svc = filled_services(big_url, big, kept, "the big database", Path(tmp) / "big")
            try:
                statements = Statements(big_svc.engine)
                small_paths, big_paths, queries = side_by_side(small_svc, big_svc, small, big, args.samples,
                                                               args.dispatches, statements)
                with big_svc.engine.connect() as conn:
                    agency = conn.exec_driver_sql(
                        "SELECT agency_id FROM counter WHERE name = 'inbox' AND value >= 100 LIMIT 1").scalar()
                explain(big_svc.engine, queries, {"agency": agency or 2, "after": 40, "limit": PAGE})
                disk = sizes_of(big_svc.engine)  # the pool's connections: the server may have no slot left
            finally:
                small_svc.close()
                big_svc.close()
    finally:
        drop(args.database_url, small_name)
        if not args.keep:
            drop(args.database_url, big_name)
    report(big, small, big_paths, small_paths, disk)


def report(big: Sizes, small: Sizes, big_paths: list[Timing], small_paths: list[Timing], disk: dict[str, int]) -> None:
    print(f"big: {big.agencies:,} agencies, {big.documents:,} documents, {disk['deliveries']:,} deliveries; "
          f"small: {small.deliveries:,} deliveries, same directory")
    print(f"{'path':36}{'small p50':>11}{'p99':>9}{'big p50':>11}{'p99':>9}{'p99 big/small':>15}")
    worst = 0.0
    for s, b in zip(small_paths, big_paths, strict=True):
        if b.name.startswith("audit"):
            print(f"{'audit verify, events/s':36}{s.samples[0]:>20,.0f}{b.samples[0]:>20,.0f}"
                  f"{b.samples[0] / s.samples[0]:>15.2f} ({b.name.split('(')[1].split(')')[0]})")
            continue
        ratio = b.p(0.99) / s.p(0.99)
        if b.per_request:
            worst = max(worst, ratio)
        print(f"{b.name:36}{s.p(0.5) * 1e3:>9.1f}ms{s.p(0.99) * 1e3:>7.1f}ms{b.p(0.5) * 1e3:>9.1f}ms"
              f"{b.p(0.99) * 1e3:>7.1f}ms{ratio:>15.2f}")
    dispatch = next(p for p in big_paths if p.name.startswith("dispatch"))
    per_million = disk["database"] / (disk["deliveries"] / 1e6) / 2**30
    print(f"disk: database {disk['database'] / 2**30:.2f} GiB ({per_million:.2f} GiB per million deliveries), "
          f"delivery table with its indexes {disk['delivery'] / 2**30:.2f} GiB, agency_event with its indexes "
          f"{disk['agency_event'] / 2**30:.2f} GiB, of which the pages' covering indexes "
          f"{disk['page indexes'] / 2**30:.2f} GiB ({disk['page indexes'] / (disk['deliveries'] / 1e6) / 2**30:.3f} "
          f"GiB per million deliveries)")
    print(f"dispatch to 3,321 communes on the big database: p50 {dispatch.p(0.5):.2f} s, max "
          f"{max(dispatch.samples):.2f} s (target ≤ 1 s)")
    print(f"ratio worst per-request p99 big/small: {worst:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
