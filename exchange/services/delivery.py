"""The recipient's side of a delivery and the sender's recall (DESIGN.md §4): ack with a
signed transport receipt (no number), status moves (accepting, 03, registers the số đến),
recall and the recipient's decision on it.

Each use case is one unit of work: it changes rows, writes the status events and the audit
event in the same transaction and commits, or raises a typed error that changes nothing.
The graph itself is ``exchange.domain.lifecycle``.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from errors import Conflict, ErrorCode, NotFound, Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.enums import DeliveryStatus as S
from exchange.domain.lifecycle import ENDED, REASON_MAX, SETTABLE, may_move, working_status
from exchange.domain.times import api_time
from exchange.models import Agency, Delivery, Dispatch, Document, Revision, StatusEvent, utcnow
from exchange.services import audit, registers
from exchange.services.receipts import RECEIPT_TYPE
from exchange.services.views import status_view
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services


def add_event(session: Session, delivery: Delivery, status: S, actor: str, reason: str = "",
              at: datetime | None = None) -> StatusEvent:
    at = at or utcnow()
    assert delivery.id is not None
    delivery.status = status
    delivery.updated_at = at
    event = StatusEvent(delivery_id=delivery.id, status=status, code=status.edxml_code or "",
                        actor=actor, at=at, reason=reason)
    session.add(delivery)
    session.add(event)
    return event


def own_delivery(session: Session, caller: Caller, delivery_id: int, *, lock: bool = False) -> Delivery:
    """The caller's agency's delivery, or 404 (another agency's delivery does not 'exist')."""
    stmt = select(Delivery).where(Delivery.id == delivery_id,
                                  Delivery.recipient_agency_id == caller.agency_id)
    if lock:
        stmt = stmt.with_for_update()
    delivery = session.exec(stmt).one_or_none()
    if delivery is None:
        raise NotFound(_l("delivery not found"))
    return delivery


def _statuses(session: Session, delivery_id: int) -> list[str]:
    return list(session.exec(select(StatusEvent.status).where(StatusEvent.delivery_id == delivery_id)
                             .order_by(col(StatusEvent.id))))


# ---- ack -----------------------------------------------------------------------------
def acknowledge(svc: "Services", caller: Caller, delivery_id: int) -> dict[str, Any]:
    """First ack: status 01 and a signed transport receipt. Later acks: the same receipt.
    No số đến yet: that is given when the clerk accepts (registers) the document (03)."""
    with svc.uow(write=True) as uow:
        answer = _acknowledge(uow.session, svc, caller, delivery_id)
        uow.commit()
    return answer


def _acknowledge(session: Session, svc: "Services", caller: Caller, delivery_id: int) -> dict[str, Any]:
    delivery = own_delivery(session, caller, delivery_id, lock=True)
    if delivery.receipt:
        return {"receipt": json.loads(delivery.receipt), **status_view(delivery)}
    if delivery.status != S.QUEUED:
        raise Conflict(_l("cannot acknowledge a delivery in status %(status)s", status=delivery.status),
                       code=ErrorCode.INVALID_TRANSITION)
    now = utcnow()
    dispatch, revision, document, sender = session.exec(
        select(Dispatch, Revision, Document, Agency)
        .join(Revision, col(Revision.id) == Dispatch.revision_id)
        .join(Document, col(Document.id) == Dispatch.document_id)
        .join(Agency, col(Agency.id) == Dispatch.sender_agency_id)
        .where(Dispatch.id == delivery.dispatch_id)
    ).one()
    receipt = svc.receipt_key.sign({
        "type": RECEIPT_TYPE,
        "delivery_id": delivery.id,
        "document_id": document.id,
        "document_sha256": revision.blob_sha256,
        "revision": revision.seq,
        "sender": sender.code,
        "recipient": caller.agency_code,
        "received_at": api_time(now),
        "acknowledged_by": caller.actor,
    })
    delivery.acked_at = now
    delivery.receipt = json.dumps(receipt, ensure_ascii=False, sort_keys=True)
    add_event(session, delivery, S.DELIVERED, caller.actor, at=now)
    session.flush()
    audit.record(session, caller, "delivery.ack", f"delivery:{delivery.id}",
                 {"document_id": document.id}, agency_ids=[_sender_of(session, delivery)])
    return {"receipt": receipt, **status_view(delivery)}


# ---- recipient status ----------------------------------------------------------------
def change_status(svc: "Services", caller: Caller, delivery_id: int, status: str,
                  reason: str | None = None) -> dict[str, Any]:
    with svc.uow(write=True) as uow:
        answer = _change_status(uow.session, caller, delivery_id, status, reason)
        uow.commit()
    return answer


def receive_and_change_status(svc: "Services", caller: Caller, delivery_id: int, status: str,
                              reason: str | None = None) -> dict[str, Any]:
    """A clerk's move from the web page: a copy not yet acknowledged is acknowledged first
    (01, its signed receipt), in the same transaction as the move — both, or neither."""
    with svc.uow(write=True) as uow:
        if own_delivery(uow.session, caller, delivery_id).status == S.QUEUED:
            _acknowledge(uow.session, svc, caller, delivery_id)
        answer = _change_status(uow.session, caller, delivery_id, status, reason)
        uow.commit()
    return answer


def _change_status(session: Session, caller: Caller, delivery_id: int, status: str,
                   reason: str | None) -> dict[str, Any]:
    if status not in SETTABLE:
        raise Unprocessable(_l("unknown status"),
                            fields={"status": _l("one of %(values)s", values=", ".join(sorted(SETTABLE)))})
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise Unprocessable(_l("reason too long"),
                            fields={"reason": _l("at most %(max)s characters", max=REASON_MAX)})
    if status == S.RETURNED and not reason:
        raise Unprocessable(_l("a reason is required to return a document"),
                            fields={"reason": _l("required for status returned (02)")})
    delivery = own_delivery(session, caller, delivery_id, lock=True)
    assert delivery.id is not None
    current = working_status(delivery.status, _statuses(session, delivery.id))
    if not may_move(delivery.status, current, status):
        raise Conflict(_l("cannot move from %(old)s to %(new)s", old=delivery.status, new=status),
                       code=ErrorCode.INVALID_TRANSITION)
    previous = delivery.status
    target = S(status)
    details: dict[str, Any] = {"from": previous, "to": target, "code": target.edxml_code, "reason": reason}
    if target == S.ACCEPTED:  # vào sổ: the số đến is given now, never at the ack or a return
        entry = registers.register_delivery(session, caller, delivery)
        details.update(incoming_number=entry.number, incoming_year=entry.year)
    add_event(session, delivery, target, caller.actor, reason)
    session.flush()
    audit.record(session, caller, "delivery.status", f"delivery:{delivery.id}", details,
                 agency_ids=[_sender_of(session, delivery)])
    return {**status_view(delivery), "incoming_number": delivery.incoming_number}


# ---- recall --------------------------------------------------------------------------
def request_recall(svc: "Services", caller: Caller, document_id: int, reason: str = "") -> dict[str, Any]:
    """13 on every delivery the caller's agency sent of this document; unacked ones → 15 at once."""
    with svc.uow(write=True) as uow:
        answer = _request_recall(uow.session, caller, document_id, reason)
        uow.commit()
    return answer


def _request_recall(session: Session, caller: Caller, document_id: int, reason: str) -> dict[str, Any]:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise Unprocessable(_l("reason too long"),
                            fields={"reason": _l("at most %(max)s characters", max=REASON_MAX)})
    stmt = (select(Delivery).join(Dispatch, col(Dispatch.id) == Delivery.dispatch_id)
            .where(Delivery.document_id == document_id, Dispatch.sender_agency_id == caller.agency_id))
    if session.exec(select(Document.imported).where(Document.id == document_id)).first():
        # an edXML import (exchange.services.edxml) is not its From agency's to recall: only forwards are
        stmt = stmt.where(col(Dispatch.forwarded_from_id).is_not(None))
    deliveries = list(session.exec(stmt.order_by(col(Delivery.id)).with_for_update()))
    if not deliveries:
        raise NotFound(_l("no dispatched document with this id"))
    recalled, pending = [], []
    now = utcnow()
    for delivery in deliveries:
        if delivery.status in ENDED:
            continue
        add_event(session, delivery, S.RECALL_REQUESTED, caller.actor, reason, at=now)
        if delivery.acked_at is None:
            add_event(session, delivery, S.RECALLED, caller.actor, reason, at=now)
            recalled.append(delivery)
        else:
            pending.append(delivery)
    if not recalled and not pending:
        raise Conflict(_l("nothing left to recall"), code=ErrorCode.INVALID_TRANSITION)
    more_recalled, more_pending = recall_forwarded_copies(session, recalled, caller.actor, reason, now)
    recalled += more_recalled
    pending += more_pending
    session.flush()
    audit.record(session, caller, "document.recall", f"document:{document_id}",
                 {"reason": reason, "recalled": [d.id for d in recalled], "pending": [d.id for d in pending]},
                 agency_ids={d.recipient_agency_id for d in recalled + pending})
    return {"deliveries": [status_view(d) for d in recalled + pending]}


def recall_forwarded_copies(session: Session, origins: list[Delivery], actor: str, reason: str,
                            at: datetime) -> tuple[list[Delivery], list[Delivery]]:
    """A recalled delivery takes back what its recipient forwarded from it, hop after hop:
    copies not yet acknowledged are recalled at once (15), acknowledged ones are asked (13)
    and wait for their recipient's decision, which cascades in turn when accepted."""
    recalled: list[Delivery] = []
    pending: list[Delivery] = []
    frontier = [d.id for d in origins]
    while frontier:
        copies = session.exec(
            select(Delivery).join(Dispatch, col(Dispatch.id) == Delivery.dispatch_id)
            .where(col(Dispatch.forwarded_from_id).in_(frontier))
            .order_by(col(Delivery.id)).with_for_update()
        ).all()
        frontier = []
        for copy in copies:
            if copy.status in ENDED:
                continue
            add_event(session, copy, S.RECALL_REQUESTED, actor, reason, at=at)
            if copy.acked_at is None:
                add_event(session, copy, S.RECALLED, actor, reason, at=at)
                recalled.append(copy)
                frontier.append(copy.id)
            else:
                pending.append(copy)
    return recalled, pending


def decide_recall(svc: "Services", caller: Caller, delivery_id: int, accept: bool,
                  reason: str = "") -> dict[str, Any]:
    with svc.uow(write=True) as uow:
        answer = _decide_recall(uow.session, caller, delivery_id, accept, reason)
        uow.commit()
    return answer


def _decide_recall(session: Session, caller: Caller, delivery_id: int, accept: bool, reason: str) -> dict[str, Any]:
    delivery = own_delivery(session, caller, delivery_id, lock=True)
    if delivery.status != S.RECALL_REQUESTED:
        raise Conflict(_l("no recall request is pending"),
                       code=ErrorCode.INVALID_TRANSITION)
    status = S.RECALLED if accept else S.RECALL_REFUSED
    add_event(session, delivery, status, caller.actor, (reason or "").strip()[:REASON_MAX])
    cascaded: tuple[list[Delivery], list[Delivery]] = ([], [])
    if accept:
        cascaded = recall_forwarded_copies(session, [delivery], caller.actor,
                                           (reason or "").strip()[:REASON_MAX], utcnow())
    session.flush()
    audit.record(session, caller, "delivery.recall_decision", f"delivery:{delivery.id}",
                 {"accept": accept, "code": status.edxml_code, "reason": (reason or "").strip()[:REASON_MAX],
                  "forwarded_recalled": [d.id for d in cascaded[0]],
                  "forwarded_pending": [d.id for d in cascaded[1]]},
                 # the copies taken back with it change their recipients' inboxes: the news is theirs too
                 agency_ids=[_sender_of(session, delivery),
                             *(d.recipient_agency_id for d in cascaded[0] + cascaded[1])])
    return status_view(delivery)


def _sender_of(session: Session, delivery: Delivery) -> int:
    """The agency the recipient's moves concern: the sender — but for an edXML import, whose
    From is another system's, the recipient itself (From hears nothing of it here)."""
    dispatch = session.get(Dispatch, delivery.dispatch_id)
    assert dispatch is not None
    if dispatch.forwarded_from_id is None and session.exec(
            select(Document.imported).where(Document.id == delivery.document_id)).first():
        return delivery.recipient_agency_id
    return dispatch.sender_agency_id
