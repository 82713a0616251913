"""The audit trail, as auditors read it: the events of their agency and the agencies below
it, and the check of the whole chain. Writing goes through :func:`record`."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable

from sqlmodel import Session, col, select

from exchange.adapters import audit_log
from exchange.adapters.audit_log import ChainCheck
from exchange.domain.caller import Caller
from exchange.domain.times import api_time
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
