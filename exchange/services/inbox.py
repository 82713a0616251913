"""The inbox an agency's system polls: deliveries to the caller's agency in ``seq`` order.

The cursor is the recipient's own gapless ``seq`` (``exchange.services.dispatch``): seq n+1 cannot
commit before seq n, so "everything after my cursor" never skips a late commit. A poll that
finds nothing new usually costs no query at all (``exchange.notify`` keeps a per-agency
high-water mark, ``exchange.adapters.notify``); otherwise it is one indexed query on ``(recipient_agency_id, seq)``.
With ``wait`` the request sleeps until news arrives for the agency or the time is up.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import TYPE_CHECKING, Any, Callable, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import col

from errors import Unprocessable
from exchange.adapters import metrics
from exchange.adapters.caches import DispatchCache
from exchange.adapters.notify import Notifier
from exchange.domain.caller import Caller
from exchange.domain.enums import DeliveryStatus, DocumentState
from exchange.domain.times import VN_TZ, api_time_from_stored, vn_today
from exchange.models import Agency, Delivery, Dispatch, Document, Revision, StatusEvent, covered, uncovered
from exchange.services.views import attachments_of
from exchange.domain.numbers import whole_number
from storage.db import key
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

LIMIT_MAX = 200
WAIT_MAX = 60
UNTRUSTED_WAIT_SLICE_S = 1.0  # without a listener, look again this often

# The page in two steps. The delivery rows (what changes: status, number) come from one
# indexed query on (recipient_agency_id, seq). What a delivery shows of its dispatch — the
# document's metadata, the dispatched revision, the sender, the trace — never changes once
# sent (documents are not edited after dispatch; a dispatch points at one revision), and one
# dispatch reaches up to thousands of inboxes: it is built once per process and kept in a
# bounded cache (the Services' DispatchCache), filled by one query for the dispatches a page
# has not seen yet.
# What replaces a document can come after its dispatch, so it is not in the cached part: the
# row query finds it, by the unique index on replaces_id (at most one row per delivery).
_REPLACEMENT = sa.orm.aliased(Document, name="replacement")
_ROWS = (
    # created_at as stored: SQLite's text needs no parsing to be shown (api_time_from_stored)
    sa.select(key(Delivery.id), col(Delivery.seq), col(Delivery.status), col(Delivery.incoming_number),
              sa.type_coerce(Delivery.created_at, sa.String),
              col(Delivery.recipient_agency_id), col(Delivery.addressed_agency_id), col(Delivery.dispatch_id),
              col(Delivery.trace), col(Delivery.fetched_at), col(_REPLACEMENT.id))
    .outerjoin(_REPLACEMENT, sa.and_(col(_REPLACEMENT.replaces_id) == Delivery.document_id,
                                     col(_REPLACEMENT.state) == DocumentState.SENT.value))
    .where(col(Delivery.recipient_agency_id) == sa.bindparam("agency"), col(Delivery.seq) > sa.bindparam("after"))
    .order_by(col(Delivery.seq))
    .limit(sa.bindparam("limit"))
)
# On PostgreSQL the page is one statement: the rows above, the replacement as a subquery on
# the unique index of replaces_id (as a join, the planner could walk every sent document by
# state), each delivery's history aggregated as JSON in the same statement, and the times
# formatted by the server in the API's form: one round trip instead of two, no datetime
# object per value. (SQLite runs in process, where two statements cost no round trip.)
_PG_TIME = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'


def _pg_api_time(column: Any) -> Any:
    return sa.func.to_char(sa.func.timezone("UTC", column), _PG_TIME)


_PG_STEP = sa.func.json_strip_nulls(sa.func.json_build_object(
    "status", col(StatusEvent.status), "code", col(StatusEvent.code), "at", _pg_api_time(col(StatusEvent.at)),
    "reason", sa.func.nullif(col(StatusEvent.reason), "")))  # as _histories: no empty reason
def _pg_rows() -> sa.Select[Any]:
    """The delivery rows first, from the covering index alone (an index-only scan: the
    recipient's rows lie scattered over the heap, one page each; exchange.models.covered),
    and the rare ones whose trace is too long for it from their own partial index, merged by
    seq; then, for the page's rows only, the replacement and the history by their indexes."""
    columns = (key(Delivery.id), col(Delivery.seq), col(Delivery.status), col(Delivery.incoming_number),
               col(Delivery.created_at), col(Delivery.recipient_agency_id), col(Delivery.addressed_agency_id),
               col(Delivery.dispatch_id), col(Delivery.trace), col(Delivery.fetched_at), col(Delivery.document_id))
    after = (col(Delivery.recipient_agency_id) == sa.bindparam("agency"), col(Delivery.seq) > sa.bindparam("after"))
    branches = [sa.select(*columns).where(*after, sa.text(predicate)).order_by(col(Delivery.seq))
                .limit(sa.bindparam("limit")) for predicate in (covered("trace"), uncovered("trace"))]
    both = sa.union_all(*branches).subquery("merged")
    page = sa.select(*both.c).order_by(both.c.seq).limit(sa.bindparam("limit")).subquery("page")
    return (
        sa.select(page.c.id, page.c.seq, page.c.status, page.c.incoming_number, _pg_api_time(page.c.created_at),
                  page.c.recipient_agency_id, page.c.addressed_agency_id, page.c.dispatch_id, page.c.trace,
                  page.c.fetched_at,
                  sa.select(key(_REPLACEMENT.id))
                  .where(col(_REPLACEMENT.replaces_id) == page.c.document_id,
                         col(_REPLACEMENT.state) == DocumentState.SENT.value).scalar_subquery(),
                  # as text: orjson parses it in a fraction of the driver's json.loads
                  sa.select(sa.cast(sa.func.coalesce(
                      sa.func.json_agg(aggregate_order_by(_PG_STEP, col(StatusEvent.id))),
                      sa.literal_column("'[]'::json")), sa.Text))
                  .where(col(StatusEvent.delivery_id) == page.c.id).scalar_subquery())
        .order_by(page.c.seq)
    )


_PG_ROWS = _pg_rows()
_HISTORY_COLUMN = 11  # in _PG_ROWS' rows only
_DISPATCHES = (
    sa.select(key(Dispatch.id), col(Revision.seq), col(Revision.blob_sha256), col(Revision.size), col(Agency.code),
              col(Agency.name), col(Document.id), col(Document.number), col(Document.notation),
              col(Document.doc_type), col(Document.subject), col(Document.urgency), col(Document.confidentiality),
              col(Document.issued_on), col(Document.place), col(Document.signer_name), col(Document.signer_position),
              col(Document.due_on), col(Document.reply_to_id), col(Document.replaces_id))
    .join(Revision, col(Revision.id) == Dispatch.revision_id)
    .join(Document, col(Document.id) == Dispatch.document_id)
    .join(Agency, col(Agency.id) == Dispatch.sender_agency_id)
    .where(col(Dispatch.id).in_(sa.bindparam("ids", expanding=True)))
)
def parse_cursor(after: str | None) -> int:
    if after in (None, ""):
        return 0
    cursor = whole_number(after)
    if cursor is None:
        raise Unprocessable(_l("invalid cursor"), fields={"after": _l("a next_cursor value")})
    return cursor


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _shared_parts(conn: sa.Connection, caches: DispatchCache, dispatch_ids: set[int]) -> dict[int, dict[str, Any]]:
    with caches.lock:
        found = {i: part for i in dispatch_ids if (part := caches.shared.get(i)) is not None}
    missing = [i for i in dispatch_ids if i not in found]
    if missing:
        for (dispatch_id, revision_seq, sha256, size, sender_code, sender_name, doc_id, number, notation,
             doc_type, subject, urgency, confidentiality, issued_on, place, signer_name, signer_position,
             due_on, reply_to, replaces) in conn.execute(_DISPATCHES, {"ids": missing}):
            found[dispatch_id] = {
                "document": {
                    "id": doc_id, "sha256": sha256, "size": size, "revision": revision_seq,
                    "number": number, "notation": notation, "doc_type": doc_type, "subject": subject,
                    "urgency": urgency, "confidentiality": confidentiality, "issued_on": _day(issued_on),
                    "place": place, "signer_name": signer_name, "signer_position": signer_position,
                    "due_on": _day(due_on), "reply_to": reply_to, "replaces": replaces, "replaced_by": None,
                },
                "sender": sender_code,
                "sender_name": sender_name,
                "content_url": f"/api/v1/documents/{doc_id}/content?revision={revision_seq}",
            }
        # attachments are frozen once a document is dispatched: cached with the rest
        by_document = attachments_of(conn, {found[i]["document"]["id"] for i in missing if i in found})
        for dispatch_id in missing:
            if dispatch_id in found:
                document = found[dispatch_id]["document"]
                document["attachments"] = by_document.get(document["id"], [])
        with caches.lock:
            for dispatch_id in missing:
                if dispatch_id in found:
                    caches.shared[dispatch_id] = found[dispatch_id]
    return found


def _hops(caches: DispatchCache, traces: set[str]) -> dict[str, Any]:
    with caches.lock:
        known = {t: hops for t in traces if (hops := caches.traces.get(t)) is not None}
    parsed = {t: json.loads(t or "[]") for t in traces if t not in known}
    if parsed:
        with caches.lock:
            for trace, hops in parsed.items():
                caches.traces[trace] = hops
    return {**known, **parsed}


def _tombstone(row: Any) -> bool:
    """A delivery recalled before its recipient fetched the file (rows of ``_ROWS``)."""
    return bool(row[2] == DeliveryStatus.RECALLED and row[9] is None)


_HISTORY = (
    sa.select(col(StatusEvent.delivery_id), col(StatusEvent.status), col(StatusEvent.code),
              sa.type_coerce(StatusEvent.at, sa.String), col(StatusEvent.reason))
    .where(col(StatusEvent.delivery_id).in_(sa.bindparam("ids", expanding=True)))
    .order_by(col(StatusEvent.id))
)


def _histories(conn: sa.Connection, delivery_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each delivery's status history, oldest first: one query for the whole page."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for delivery_id, status, code, at, reason in conn.execute(_HISTORY, {"ids": delivery_ids}):
            step = {"status": status, "code": code, "at": api_time_from_stored(at)}
            if reason:
                step["reason"] = reason
            found[delivery_id].append(step)
    return found


_EDXML_CODES: dict[str, str | None] = {s.value: s.edxml_code for s in DeliveryStatus}  # edxml_code, by dict


def _items(conn: sa.Connection, caches: DispatchCache, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The page's items from its delivery rows (``_ROWS``' or ``_PG_ROWS``'). Run for every
    item of every page polled: each lookup is done once per page, none per item."""
    live = [row for row in rows if not _tombstone(row)]
    shared = _shared_parts(conn, caches, {row[7] for row in live})
    # on PostgreSQL the server aggregated each history and formatted the times (_PG_ROWS)
    server_side = len(rows[0]) > _HISTORY_COLUMN
    histories = {} if server_side else _histories(conn, [row[0] for row in live])
    hops_by_trace = _hops(caches, {row[8] for row in live})
    redirected = {row[6] for row in live if row[6] != row[5]}
    codes = dict(conn.execute(sa.select(col(Agency.id), col(Agency.code))
                              .where(col(Agency.id).in_(redirected))).all()) if redirected else {}
    edxml_codes, loads = _EDXML_CODES, orjson.loads
    out: list[dict[str, Any]] = []
    for row in rows:
        (delivery_id, seq, status, incoming_number, created_at, recipient_id, addressed_id, dispatch_id, trace,
         fetched_at, replaced_by) = row[:_HISTORY_COLUMN]
        if status == DeliveryStatus.RECALLED and fetched_at is None:  # _tombstone(row)
            # recalled before the recipient fetched it: the recipient keeps its cursor's place
            # and learns that something was taken back, never what (no subject, no metadata)
            out.append({"delivery_id": delivery_id, "seq": seq, "status": status, "code": edxml_codes[status]})
            continue
        part = shared[dispatch_id]
        item: dict[str, Any] = {
            "delivery_id": delivery_id,
            "seq": seq,
            **part,
            "status": status,
            "code": edxml_codes[status],
            "incoming_number": incoming_number,
            "trace": hops_by_trace[trace],
            "created_at": created_at if server_side else api_time_from_stored(created_at),
            "history": loads(row[_HISTORY_COLUMN]) if server_side else histories[delivery_id],
        }
        if addressed_id != recipient_id:
            item["addressed_to"] = codes.get(addressed_id)
        if replaced_by is not None:  # rare: the cached part (replaced_by None) is copied only then
            item["document"] = {**part["document"], "replaced_by": replaced_by}
        out.append(item)
    return out


def _read_rows(conn: sa.Connection, params: dict[str, int]) -> Sequence[Any]:
    """The page's delivery rows: one statement, compiled once, straight through the driver
    (SQLAlchemy's execution machinery cost as much as the statement) and outside any
    explicit transaction. On PostgreSQL (``_PG_ROWS``, histories included) in autocommit, so
    no BEGIN nor ROLLBACK round trip, and prepared at once (psycopg would wait for the fifth
    run); on SQLite in its own implicit read transaction (the engine would add BEGIN and ROLLBACK)."""
    postgresql = conn.dialect.name == "postgresql"
    statement = _compiled.get(conn.dialect.name)
    if statement is None:
        statement = _compiled[conn.dialect.name] = _CompiledRows.of(conn.dialect)
    driver = conn.connection.driver_connection
    assert driver is not None  # a connection checked out of the pool
    if postgresql:
        # set on the driver's connection, and unset below, rather than through SQLAlchemy's
        # execution_options(isolation_level=...), whose checks and reset at checkin cost a
        # tenth of the page; SQLAlchemy has begun no transaction on this connection (psycopg
        # would refuse inside one)
        driver.autocommit = True
    cursor = driver.cursor()
    try:
        if postgresql:
            cursor.execute(statement.sql, statement.args(params), prepare=True)
        else:
            cursor.execute(statement.sql, statement.args(params))
        return cursor.fetchall()
    finally:
        cursor.close()
        if postgresql and not driver.closed:  # a broken connection is the pool's to discard
            driver.autocommit = False


_PAGE_PARAMS = ("agency", "after", "limit")  # what _ROWS and _PG_ROWS bind per page


@dataclass(frozen=True)
class _CompiledRows:
    """``_ROWS`` or ``_PG_ROWS`` compiled for one dialect, with the values of their own
    parameters (the time format, the JSON keys, the state) bound once: SQLAlchemy's
    ``construct_params`` cost as much as the rest of the page's Python."""

    sql: str
    constants: dict[str, Any]
    positions: tuple[str, ...] | None  # the order of the parameters, for a qmark driver (SQLite)

    @classmethod
    def of(cls, dialect: Dialect) -> "_CompiledRows":
        sql, compiled = _compile_rows(dialect)
        bound = compiled.construct_params(dict.fromkeys(_PAGE_PARAMS, 0))
        assert set(_PAGE_PARAMS) <= set(bound)
        return cls(sql, {k: v for k, v in bound.items() if k not in _PAGE_PARAMS},
                   tuple(compiled.positiontup or ()) if compiled.positional else None)

    def args(self, params: dict[str, int]) -> dict[str, Any] | tuple[Any, ...]:
        merged = {**self.constants, **params}
        return merged if self.positions is None else tuple(merged[name] for name in self.positions)


_compiled: dict[str, _CompiledRows] = {}  # the statement compiled once per dialect


def _compile_rows(dialect: Dialect) -> tuple[str, SQLCompiler]:
    compiled = (_PG_ROWS if dialect.name == "postgresql" else _ROWS).compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)  # what a SELECT compiles to
    return str(compiled), compiled


@dataclass(frozen=True)
class InboxFilters:
    """What a clerk narrows the inbox to; every one given must hold. ``received_from`` and
    ``received_to`` are Vietnam calendar days of the delivery's arrival, both included;
    ``overdue``: the document's due date (hạn xử lý) has passed and the copy is still open
    (not completed, returned or recalled)."""

    status: str | None = None
    urgency: str | None = None
    sender: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    overdue: bool = False

    def __bool__(self) -> bool:
        return any((self.status, self.urgency, self.sender, self.received_from, self.received_to, self.overdue))


NO_FILTERS = InboxFilters()
# a copy in one of these needs nothing more from its recipient: never overdue
_SETTLED = (DeliveryStatus.COMPLETED.value, DeliveryStatus.RETURNED.value, DeliveryStatus.RECALLED.value)


def _vn_midnight(day: date) -> datetime:
    return datetime.combine(day, dt_time.min, VN_TZ)


def _filtered_rows_statement(filters: InboxFilters, sender_id: int | None) -> Any:
    """``_ROWS`` narrowed by the filters (same columns, same bound agency/after/limit)."""
    stmt = _ROWS.where(*_filter_conditions(filters, sender_id))
    if filters.urgency or filters.overdue:
        stmt = stmt.join(Document, col(Document.id) == Delivery.document_id)
    if sender_id is not None:
        stmt = stmt.join(Dispatch, col(Dispatch.id) == Delivery.dispatch_id)
    return stmt


def _filter_conditions(filters: InboxFilters, sender_id: int | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.status:
        conditions.append(col(Delivery.status) == filters.status)
    if filters.urgency:
        conditions.append(col(Document.urgency) == filters.urgency)
    if sender_id is not None:
        conditions.append(col(Dispatch.sender_agency_id) == sender_id)
    if filters.received_from:
        conditions.append(col(Delivery.created_at) >= _vn_midnight(filters.received_from))
    if filters.received_to:
        conditions.append(col(Delivery.created_at) < _vn_midnight(filters.received_to + timedelta(days=1)))
    if filters.overdue:
        conditions += [col(Document.due_on) < vn_today(), col(Delivery.status).not_in(_SETTLED)]
    return conditions


def check_filters(svc: "Services", filters: InboxFilters) -> int | None:
    """422 for a range that ends before it starts or an unknown sender; the sender's id."""
    if filters.received_from and filters.received_to and filters.received_to < filters.received_from:
        raise Unprocessable(_l("the date range ends before it starts"), fields={"to": _l("must not precede from")})
    if not filters.sender:
        return None
    with svc.engine.connect() as conn:
        sender_id = conn.execute(sa.select(col(Agency.id)).where(col(Agency.code) == filters.sender)).scalar()
    if sender_id is None:
        raise Unprocessable(_l("unknown agency code"),
                            fields={"sender": _l("unknown: %(codes)s", codes=filters.sender)})
    return int(sender_id)


def fetch(svc: "Services", agency_id: int, after: int, limit: int, filters: InboxFilters = NO_FILTERS,
          sender_id: int | None = None) -> list[dict[str, Any]]:
    """One indexed query, or none when this process knows nothing newer exists."""
    notifier = svc.notifier
    if notifier.nothing_after(agency_id, after):
        return []  # nothing at all after the cursor: nothing that matches a filter either
    if filters:
        with svc.engine.connect() as conn:
            rows = conn.execute(_filtered_rows_statement(filters, sender_id),
                                {"agency": agency_id, "after": after, "limit": limit}).all()
            # no record_exhausted: a filtered page says nothing about the rows it did not match
            return _items(conn, svc.dispatch_cache, rows) if rows else []
    token = notifier.snapshot(agency_id)
    with svc.engine.connect() as conn:
        rows = _read_rows(conn, {"agency": agency_id, "after": after, "limit": limit})
        items = _items(conn, svc.dispatch_cache, rows) if rows else []
    if len(rows) < limit:
        notifier.record_exhausted(agency_id, rows[-1][1] if rows else after, token)
    return items


def poll(svc: "Services", caller: Caller, after: str | None = None, limit: int = 50,
         wait: float = 0, filters: InboxFilters = NO_FILTERS) -> dict[str, Any]:
    """The caller's agency's deliveries after the cursor, oldest first; waits up to ``wait`` s.
    With ``filters``, only the deliveries that match (the cursor and the wait work alike)."""
    cursor = check_page(after, limit, wait)
    sender_id = check_filters(svc, filters) if filters else None
    return long_poll(svc.notifier, caller.agency_id, cursor, wait,
                     lambda: fetch(svc, caller.agency_id, cursor, limit, filters, sender_id))


def check_page(after: str | None, limit: int, wait: float) -> int:
    """422 for a cursor, limit or wait out of bounds (the inbox's and the events feed's); the cursor."""
    cursor = parse_cursor(after)
    if not 1 <= limit <= LIMIT_MAX:
        raise Unprocessable(_l("invalid limit"), fields={"limit": _l("1 to %(max)s", max=LIMIT_MAX)})
    if not 0 <= wait <= WAIT_MAX:
        raise Unprocessable(_l("invalid wait"), fields={"wait": _l("0 to %(max)s seconds", max=WAIT_MAX)})
    return cursor


def long_poll(notifier: Notifier, agency_id: int, cursor: int, wait: float,
              look: Callable[[], list[dict[str, Any]]]) -> dict[str, Any]:
    """``look()`` until it finds items or ``wait`` seconds have passed; the page and its next cursor."""
    deadline = time.monotonic() + wait
    # subscribed before the first look: news committed between the look and the wait still wakes us
    event = notifier.subscribe(agency_id) if wait > 0 and not notifier.closing else None
    if event is not None:
        metrics.PARKED_POLLS.inc()
    try:
        while True:
            items = look()
            remaining = deadline - time.monotonic()
            if items or event is None or remaining <= 0 or notifier.closing:  # closing: the server is stopping
                break
            event.wait(remaining if notifier.listening else min(remaining, UNTRUSTED_WAIT_SLICE_S))
            event.clear()
    finally:
        if event is not None:
            notifier.unsubscribe(agency_id, event)
            metrics.PARKED_POLLS.dec()
    return {"items": items, "next_cursor": str(items[-1]["seq"] if items else cursor)}


def newest(svc: "Services", caller: Caller, limit: int = 50) -> dict[str, Any]:
    """The caller's agency's ``limit`` newest deliveries, newest first (a clerk's inbox page):
    ``seq`` is gapless per recipient, so they are the ones after ``last - limit``."""
    last = newest_seq(svc, caller)
    page = poll(svc, caller, after=str(max(last - limit, 0)), limit=limit)
    return {"items": page["items"][::-1], "last_seq": last}


def newest_seq(svc: "Services", caller: Caller) -> int:
    """The ``seq`` of the caller's agency's newest delivery (0 when none): what a page that
    waits for new arrivals starts after."""
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(col(Delivery.seq)))
                            .where(col(Delivery.recipient_agency_id) == caller.agency_id)).scalar() or 0
