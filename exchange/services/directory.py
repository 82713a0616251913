"""The agency directory: a code-keyed tree of any depth, with mergers routed to successors.

The 2025 reform removed the district level, so nothing here assumes a number of levels:
children are found by ``parent_id``, level by level, however deep the tree goes.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Protocol

from sqlmodel import Session, col, select

from errors import Conflict, ErrorCode, NotFound, Unprocessable
from exchange.adapters import audit_log
from exchange.domain.caller import CLI_ACTOR
from exchange.domain.times import api_date
from exchange.models import Agency
from storage.db import key
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services


def get_by_code(session: Session, code: str) -> Agency:
    agency = session.exec(select(Agency).where(Agency.code == code)).one_or_none()
    if agency is None:
        raise NotFound(_l("no agency with code %(code)s", code=code))
    return agency


def find_by_codes(session: Session, codes: Iterable[str]) -> dict[str, Agency]:
    wanted = list(dict.fromkeys(codes))
    found: dict[str, Agency] = {}
    for start in range(0, len(wanted), 500):  # keep IN lists a reasonable size
        chunk = wanted[start:start + 500]
        for agency in session.exec(select(Agency).where(col(Agency.code).in_(chunk))).all():
            found[agency.code] = agency
    return found


class Dated(Protocol):
    """An agency, or a row of its columns: what ``is_current`` reads."""

    @property
    def valid_from(self) -> date | None: ...

    @property
    def valid_to(self) -> date | None: ...


def is_current(agency: Dated, on: date | None = None) -> bool:
    on = on or date.today()
    return (agency.valid_from is None or agency.valid_from <= on) and (
        agency.valid_to is None or on <= agency.valid_to)


def route(session: Session, agency: Agency, on: date | None = None) -> Agency:
    """Where mail for ``agency`` goes on ``on`` (today by default): the agency itself, or,
    once it has been merged away (a successor and a passed ``valid_to``), the end of its
    successor chain. A loop in the directory is an error, not an endless walk."""
    on = on or date.today()
    seen = {agency.id}
    current = agency
    while current.successor_id is not None and (current.valid_to is None or current.valid_to < on):
        nxt = session.get(Agency, current.successor_id)
        if nxt is None:
            break
        if nxt.id in seen:
            raise Conflict(_l("the directory's successor chain loops from %(code)s", code=agency.code),
                           code=ErrorCode.DIRECTORY_LOOP)
        seen.add(nxt.id)
        current = nxt
    return current


def children(session: Session, parent: Agency) -> list[Agency]:
    return list(session.exec(select(Agency).where(Agency.parent_id == parent.id).order_by(Agency.code)).all())


def descendants(session: Session, code: str, level: str | None = None) -> list[Agency]:
    """Every agency below ``code`` at any depth (one query per depth), optionally of one level."""
    root = get_by_code(session, code)
    found: list[Agency] = []
    seen = {root.id}
    frontier = [root.id]
    while frontier:
        rows: list[Agency] = []
        for start in range(0, len(frontier), 500):
            chunk = frontier[start:start + 500]
            rows.extend(session.exec(select(Agency).where(col(Agency.parent_id).in_(chunk))).all())
        frontier = []
        for agency in rows:
            if agency.id in seen:  # a damaged tree with a loop must not hang us
                continue
            seen.add(agency.id)
            frontier.append(agency.id)
            found.append(agency)
    if level is not None:
        found = [a for a in found if a.level == level]
    return sorted(found, key=lambda a: a.code)


def list_agencies(session: Session, *, parent: str | None = None, after: str = "",
                  limit: int = 100) -> list[Agency]:
    stmt = select(Agency).where(Agency.code > after)
    if parent is not None:
        stmt = stmt.where(Agency.parent_id == get_by_code(session, parent).id)
    return list(session.exec(stmt.order_by(Agency.code).limit(limit)).all())


def codes_of(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Agency codes by id, in one query per 500 ids."""
    wanted = sorted({i for i in ids if i is not None})
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update(session.exec(select(key(Agency.id), Agency.code).where(col(Agency.id).in_(chunk))).all())
    return found


def agencies_view(session: Session, rows: list[Agency]) -> list[dict[str, Any]]:
    codes = codes_of(session, [a.parent_id for a in rows] + [a.successor_id for a in rows])
    return [{
        "code": a.code, "name": a.name, "short_name": a.short_name, "level": a.level,
        "parent_code": codes.get(a.parent_id) if a.parent_id else None,
        "successor_code": codes.get(a.successor_id) if a.successor_id else None,
        "valid_from": api_date(a.valid_from), "valid_to": api_date(a.valid_to),
    } for a in rows]


def directory_page(svc: "Services", *, parent: str | None, after: str, limit: int) -> dict[str, Any]:
    """``GET /agencies``: the directory by code, after the cursor (optionally one parent's children)."""
    with svc.uow() as uow:
        rows = list_agencies(uow.session, parent=parent, after=after, limit=limit + 1)
        items = agencies_view(uow.session, rows[:limit])
    return {"items": items, "next_cursor": items[-1]["code"] if len(rows) > limit and items else None}


def merge_agencies(svc: "Services", old_code: str, into_code: str, effective: date) -> None:
    with svc.uow(write=True) as uow:
        merge(uow.session, old_code, into_code, effective)
        uow.commit()


def merge(session: Session, old_code: str, into_code: str, effective: date, *, actor: str = CLI_ACTOR) -> Agency:
    """``old_code`` is merged into ``into_code`` from ``effective`` on: its last day is the
    day before, and mail addressed to it is routed to its successor from then on. The old
    code stays in the directory (codes are never reused)."""
    old, new = get_by_code(session, old_code), get_by_code(session, into_code)
    if old.id == new.id:
        raise Unprocessable(_l("cannot merge an agency into itself"),
                            fields={"into": _l("must be another agency")})
    old.successor_id, old.valid_to = new.id, effective - timedelta(days=1)
    session.add(old)
    session.flush()
    route(session, old, date.max)  # Conflict if this closes a loop; the caller's transaction rolls back
    audit_log.record(session, actor=actor, agency_code=old.code, action="agency.merge", object=f"agency:{old.code}",
                     details={"into": new.code, "effective": effective.isoformat()},
                     agency_ids=[i for i in (old.id, new.id) if i is not None])
    return old
