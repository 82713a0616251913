"""The audit trail, as auditors read it: the events of their agency and the agencies below
it, and the check of the whole chain. Writing goes through :func:`record`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from sqlmodel import Session, col, or_, select

from exchange.adapters import audit_log
from exchange.adapters.audit_log import ChainCheck
from exchange.domain.caller import Caller
from exchange.domain.search import LIKE_ESCAPE, search_words
from exchange.domain.times import VN_TZ, api_time
from exchange.models import AuditEvent
from exchange.services import directory

if TYPE_CHECKING:
    from bootstrap import Services


def record(session: Session, caller: Caller, action: str, object: str, details: dict[str, Any] | None = None,
           *, agency_ids: Iterable[int] = ()) -> AuditEvent:
    """The caller's change, in the caller's transaction: the audit event and its outbox row
    (concerning the caller's agency, and ``agency_ids``)."""
    return audit_log.record(session, actor=caller.actor, agency_code=caller.agency_code, action=action,
                            object=object, details=details, agency_ids={caller.agency_id, *agency_ids})


def event_view(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq, "at": api_time(event.at), "actor": event.actor,
        "agency_code": event.agency_code, "action": event.action, "object": event.object,
        "details": json.loads(event.details), "prev_hash": event.prev_hash, "hash": event.hash,
    }


def list_events(session: Session, *, agency_codes: list[str] | None, after: int = 0,
                limit: int = 100) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(col(AuditEvent.seq) > after)
    if agency_codes is not None:
        stmt = stmt.where(col(AuditEvent.agency_code).in_(agency_codes))
    return list(session.exec(stmt.order_by(col(AuditEvent.seq)).limit(limit)).all())


def visible_events(svc: "Services", caller: Caller, *, after: int, limit: int) -> dict[str, Any]:
    """Events of the caller's agency and of every agency below it, oldest first."""
    with svc.uow() as uow:
        codes = [caller.agency_code] + [a.code for a in directory.descendants(uow.session, caller.agency_code)]
        rows = list_events(uow.session, agency_codes=codes, after=after, limit=limit + 1)
        items = [event_view(e) for e in rows[:limit]]
    return {"items": items, "next_cursor": items[-1]["seq"] if len(rows) > limit and items else None}


def verify_chain(svc: "Services") -> ChainCheck:
    with svc.uow() as uow:
        return audit_log.verify_chain(uow.session)


@dataclass(frozen=True)
class EventFilters:
    """The trail's search (``/audit``): words in the actor, action or object; an agency's
    code among those the caller may see; a day range (days in Vietnam, +07:00)."""
    q: str = ""
    agency_code: str | None = None
    since: date | None = None
    until: date | None = None


def search_visible(svc: "Services", caller: Caller, filters: EventFilters, *, before: int | None,
                   limit: int) -> dict[str, Any]:
    """Events of the caller's agency and every agency below it matching ``filters``, newest
    first, ``limit`` at a time (``next_cursor``: the ``before`` of the next page). An agency
    outside the caller's scope matches nothing."""
    with svc.uow() as uow:
        codes = _visible_codes(uow.session, caller)
        if filters.agency_code:
            codes = [c for c in codes if c == filters.agency_code]
        stmt = select(AuditEvent).where(col(AuditEvent.agency_code).in_(codes))
        if before is not None:
            stmt = stmt.where(col(AuditEvent.seq) < before)
        for word in search_words(filters.q):  # user names, action names, "document:12": ASCII
            like = f"%{word}%"
            stmt = stmt.where(or_(col(AuditEvent.actor).ilike(like, escape=LIKE_ESCAPE),
                                  col(AuditEvent.action).ilike(like, escape=LIKE_ESCAPE),
                                  col(AuditEvent.object).ilike(like, escape=LIKE_ESCAPE)))
        if filters.since:
            stmt = stmt.where(col(AuditEvent.at) >= datetime.combine(filters.since, time.min, VN_TZ))
        if filters.until:
            stmt = stmt.where(col(AuditEvent.at) < datetime.combine(filters.until + timedelta(days=1), time.min, VN_TZ))
        rows = list(uow.session.exec(stmt.order_by(col(AuditEvent.seq).desc()).limit(limit + 1)).all())
        items = [event_view(e) for e in rows[:limit]]
    return {"items": items, "next_cursor": items[-1]["seq"] if len(rows) > limit and items else None}


def _visible_codes(session: Session, caller: Caller) -> list[str]:
    return [caller.agency_code] + [a.code for a in directory.descendants(session, caller.agency_code)]


def visible_agencies(svc: "Services", caller: Caller) -> list[str]:
    """The agencies whose events the caller reads: its own and every one below it."""
    with svc.uow() as uow:
        return _visible_codes(uow.session, caller)
