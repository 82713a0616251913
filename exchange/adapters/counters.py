"""Gapless counters: the inbox ``seq`` per recipient and the số đến per recipient and year.

A counter is a row ``(agency_id, name, value)`` bumped with one upsert in the transaction that
uses the number: the row stays locked until that transaction ends, so numbers are handed out
in commit order and a rollback gives them back (no gaps, no duplicates, in any process).
Rows are bumped in ascending ``agency_id`` order, so two transactions bumping overlapping sets
always lock in the same order and cannot deadlock.
"""
from __future__ import annotations

import json
from typing import Iterable

import sqlalchemy as sa
from sqlmodel import Session

# One statement whatever the number of agencies: the ids travel as one array (PostgreSQL) or
# one JSON text (SQLite), sorted, so rows are locked in ascending order.
_BUMP = {
    "postgresql": sa.text(
        "INSERT INTO counter (agency_id, name, value) "
        "SELECT a, :name, 1 FROM unnest(CAST(:ids AS integer[])) AS a ORDER BY a "
        "ON CONFLICT (agency_id, name) DO UPDATE SET value = counter.value + 1 "
        "RETURNING agency_id, value"),
    "sqlite": sa.text(
        "INSERT INTO counter (agency_id, name, value) "
        "SELECT j.value, :name, 1 FROM json_each(:ids) AS j WHERE true "
        "ON CONFLICT (agency_id, name) DO UPDATE SET value = counter.value + 1 "
        "RETURNING agency_id, value"),
}


def bump(session: Session, name: str, agency_ids: Iterable[int]) -> dict[int, int]:
    """Add one to counter ``name`` of each agency; return ``{agency_id: new value}``."""
    ids = sorted(set(agency_ids))
    if not ids:
        return {}
    dialect = session.get_bind().dialect.name
    param = ids if dialect == "postgresql" else json.dumps(ids)
    rows = session.execute(_BUMP[dialect], {"name": name, "ids": param})
    return {int(agency_id): int(value) for agency_id, value in rows}


def bump_one(session: Session, name: str, agency_id: int) -> int:
    return bump(session, name, [agency_id])[agency_id]
