"""Gapless counters: the inbox ``seq`` per recipient and the số đến per recipient and year.

A counter is a row ``(agency_id, name, value)`` bumped with one upsert in the transaction that
uses the number: the row stays locked until that transaction ends, so numbers are handed out
in commit order and a rollback gives them back (no gaps, no duplicates, in any process).
Rows are bumped in ascending ``agency_id`` order, so two transactions bumping overlapping sets
always lock in the same order and cannot deadlock.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from exchange.models import Counter

CHUNK = 2000  # rows per statement: keeps SQLite under its bound-parameter limit

_table = Counter.__table__  # type: ignore[attr-defined]


def bump(session: Session, name: str, agency_ids: Iterable[int]) -> dict[int, int]:
    """Add one to counter ``name`` of each agency; return ``{agency_id: new value}``."""
    ids = sorted(set(agency_ids))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        stmt = insert(_table).values([{"agency_id": a, "name": name, "value": 1} for a in chunk])
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.agency_id, _table.c.name],
            set_={"value": _table.c.value + 1},
        ).returning(_table.c.agency_id, _table.c.value)
        values.update((agency_id, value) for agency_id, value in session.execute(stmt))
    return values


def bump_one(session: Session, name: str, agency_id: int) -> int:
    return bump(session, name, [agency_id])[agency_id]
