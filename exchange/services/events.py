"""The events feed an agency's system polls: everything that concerns the caller's agency,
oldest first (``exchange.adapters.agency_events`` writes it in each change's transaction).

The cursor is the agency's own gapless event ``seq``: seq n+1 cannot commit before seq n (they
are handed out under the audit head's lock), so "everything after my cursor" never skips a late
commit. Same cursor rules, limits and ``wait`` maximum as the inbox (``exchange.services.inbox``);
an empty poll usually costs no query (the Services' ``event_notifier`` high-water marks), and
with ``wait`` the request sleeps until an event arrives for the agency or the time is up.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa
from sqlmodel import col

from exchange.domain.caller import Caller
from exchange.domain.times import api_time_from_stored
from exchange.models import AgencyEvent, covered, uncovered
from exchange.services.inbox import check_page, long_poll

if TYPE_CHECKING:
    from bootstrap import Services

_COLUMNS = (col(AgencyEvent.id), col(AgencyEvent.seq), col(AgencyEvent.kind),
            # at as stored: SQLite's text needs no parsing to be shown (api_time_from_stored)
            sa.type_coerce(AgencyEvent.at, sa.String), col(AgencyEvent.delivery_id), col(AgencyEvent.document_id),
            col(AgencyEvent.data))
_AFTER = (col(AgencyEvent.agency_id) == sa.bindparam("agency"), col(AgencyEvent.seq) > sa.bindparam("after"))
_ROWS = sa.select(*_COLUMNS).where(*_AFTER).order_by(col(AgencyEvent.seq)).limit(sa.bindparam("limit"))


def _pg_rows() -> sa.Select[Any]:
    """``_ROWS`` on PostgreSQL: the page from the covering index alone (an index-only scan, no
    heap page of the table read), and the rare events whose data is too long for it from their
    own partial index (``exchange.models.covered``); the two merged by seq."""
    branches = [sa.select(*_COLUMNS).where(*_AFTER, sa.text(predicate)).order_by(col(AgencyEvent.seq))
                .limit(sa.bindparam("limit")) for predicate in (covered("data"), uncovered("data"))]
    both = sa.union_all(*branches).subquery("page")
    return sa.select(*both.c).order_by(both.c.seq).limit(sa.bindparam("limit"))


_PG_ROWS = _pg_rows()


def _read_rows(svc: "Services", params: dict[str, int]) -> Sequence[Any]:
    with svc.engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one statement: no BEGIN/ROLLBACK round trips
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            return conn.execute(_PG_ROWS, params).all()
        return conn.execute(_ROWS, params).all()


def _item(row: Any) -> dict[str, Any]:
    event_id, seq, kind, at, delivery_id, document_id, data = row
    item: dict[str, Any] = {"id": event_id, "seq": seq, "kind": kind, "at": api_time_from_stored(at)}
    if delivery_id is not None:
        item["delivery_id"] = delivery_id
    if document_id is not None:
        item["document_id"] = document_id
    item["data"] = json.loads(data)
    return item


def fetch(svc: "Services", agency_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    """One look: the agency's events after ``after``; none when this process knows nothing newer exists."""
    notifier = svc.event_notifier
    if notifier.nothing_after(agency_id, after):
        return []
    token = notifier.snapshot(agency_id)
    rows = _read_rows(svc, {"agency": agency_id, "after": after, "limit": limit})
    if len(rows) < limit:
        notifier.record_exhausted(agency_id, rows[-1][1] if rows else after, token)
    return [_item(row) for row in rows]


def read(svc: "Services", agency_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    """The agency's events after ``after`` from the database itself (the webhooks' worker)."""
    return [_item(row) for row in _read_rows(svc, {"agency": agency_id, "after": after, "limit": limit})]


def poll(svc: "Services", caller: Caller, after: str | None = None, limit: int = 100,
         wait: float = 0) -> dict[str, Any]:
    """The caller's agency's events after the cursor, oldest first; waits up to ``wait`` s."""
    cursor = check_page(after, limit, wait)
    return long_poll(svc.event_notifier, caller.agency_id, cursor, wait,
                     lambda: fetch(svc, caller.agency_id, cursor, limit))
