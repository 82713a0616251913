"""The delivery lifecycle (DESIGN.md §4): ack with a signed receipt and số đến, status moves,
recall and the recipient's decision on it. Each function is one unit of work's business rule:
it takes the caller's session, changes rows, writes the status events and the audit event in
the same transaction, and raises a typed error (which changes nothing) otherwise.

```
queued ─► delivered 01 ─► accepted 03 ─► assigned 04 ─► processing 05 ─► completed 06
              └─► returned 02 (reason required, ≤ 1000 chars)
sender: recall_requested 13 ─► recalled 15 | recall_refused 16  (not yet acked: recalled at once)
```
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable

from sqlmodel import Session, select

from errors import Conflict, NotFound, Unprocessable
from exchange import audit, counters
from exchange.models import Agency, Delivery, Dispatch, Document, Revision, StatusEvent, utcnow
from exchange.receipts import RECEIPT_TYPE, ReceiptKey

if TYPE_CHECKING:
    from exchange.auth import Caller

CODES: dict[str, str | None] = {
    "queued": None,
    "delivered": "01",
    "returned": "02",
    "accepted": "03",
    "assigned": "04",
    "processing": "05",
    "completed": "06",
    "recall_requested": "13",
    "recalled": "15",
    "recall_refused": "16",
}
LABELS_VI = {
    "queued": "Chờ nhận", "delivered": "Đã đến", "returned": "Từ chối tiếp nhận",
    "accepted": "Đã tiếp nhận", "assigned": "Phân công", "processing": "Đang xử lý",
    "completed": "Hoàn thành", "recall_requested": "Yêu cầu lấy lại", "recalled": "Đồng ý lấy lại",
    "recall_refused": "Từ chối lấy lại",
}
# what the recipient may move to through POST /inbox/{id}/status
TRANSITIONS: dict[str, frozenset[str]] = {
    "delivered": frozenset({"returned", "accepted"}),
    "accepted": frozenset({"assigned"}),
    "assigned": frozenset({"processing"}),
    "processing": frozenset({"completed"}),
}
SETTABLE = frozenset(s for targets in TRANSITIONS.values() for s in targets)
RECALL_STATES = frozenset({"recall_requested", "recalled", "recall_refused"})
REASON_MAX = 1000
VN_TZ = timezone(timedelta(hours=7))  # số đến runs per calendar year in Vietnam (no DST)


def code_of(status: str) -> str | None:
    return CODES.get(status)


def iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    if at.tzinfo is None:  # SQLite gives naive UTC back
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def add_event(session: Session, delivery: Delivery, status: str, actor: str, reason: str = "",
              at: datetime | None = None) -> StatusEvent:
    at = at or utcnow()
    delivery.status = status
    delivery.updated_at = at
    event = StatusEvent(delivery_id=delivery.id, status=status, code=CODES[status] or "",
                        actor=actor, at=at, reason=reason)
    session.add(delivery)
    session.add(event)
    return event


def own_delivery(session: Session, caller: "Caller", delivery_id: int, *, lock: bool = False) -> Delivery:
    """The caller's agency's delivery, or 404 (another agency's delivery does not 'exist')."""
    stmt = select(Delivery).where(Delivery.id == delivery_id,
                                  Delivery.recipient_agency_id == caller.agency_id)
    if lock:
        stmt = stmt.with_for_update()
    delivery = session.exec(stmt).one_or_none()
    if delivery is None:
        raise NotFound("Không tìm thấy văn bản đến / delivery not found")
    return delivery


def _history(session: Session, delivery_id: int) -> list[StatusEvent]:
    return list(session.exec(select(StatusEvent).where(StatusEvent.delivery_id == delivery_id)
                             .order_by(StatusEvent.id)))


def _working_status(session: Session, delivery: Delivery) -> str:
    """After a refused recall the recipient goes on from where it was before the request."""
    if delivery.status != "recall_refused":
        return delivery.status
    for event in reversed(_history(session, delivery.id)):  # type: ignore[arg-type]
        if event.status not in RECALL_STATES:
            return event.status
    return "delivered"


def status_view(delivery: Delivery) -> dict[str, Any]:
    return {"id": delivery.id, "status": delivery.status, "code": code_of(delivery.status)}


# ---- ack -----------------------------------------------------------------------------
def acknowledge(session: Session, caller: "Caller", delivery_id: int, key: ReceiptKey) -> dict[str, Any]:
    """First ack: status 01, the next số đến, a signed receipt. Later acks: the same receipt."""
    delivery = own_delivery(session, caller, delivery_id, lock=True)
    if delivery.receipt:
        return {"receipt": json.loads(delivery.receipt), "incoming_number": delivery.incoming_number,
                **status_view(delivery)}
    if delivery.status != "queued":
        raise Conflict(f"Không thể xác nhận văn bản ở trạng thái {delivery.status} / "
                       f"cannot acknowledge a delivery in status {delivery.status}", code="invalid_transition")
    now = utcnow()
    year = now.astimezone(VN_TZ).year
    number = counters.bump_one(session, f"incoming:{year}", caller.agency_id)
    dispatch, revision, document, sender = session.exec(
        select(Dispatch, Revision, Document, Agency)
        .join(Revision, Revision.id == Dispatch.revision_id)
        .join(Document, Document.id == Dispatch.document_id)
        .join(Agency, Agency.id == Dispatch.sender_agency_id)
        .where(Dispatch.id == delivery.dispatch_id)
    ).one()
    receipt = key.sign({
        "type": RECEIPT_TYPE,
        "delivery_id": delivery.id,
        "document_id": document.id,
        "document_sha256": revision.blob_sha256,
        "revision": revision.seq,
        "sender": sender.code,
        "recipient": caller.agency_code,
        "incoming_number": number,
        "incoming_year": year,
        "received_at": iso(now),
        "acknowledged_by": caller.actor,
    })
    delivery.incoming_number, delivery.incoming_year = number, year
    delivery.acked_at = now
    delivery.receipt = json.dumps(receipt, ensure_ascii=False, sort_keys=True)
    add_event(session, delivery, "delivered", caller.actor, at=now)
    session.flush()
    audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="delivery.ack",
                 object=f"delivery:{delivery.id}",
                 details={"document_id": document.id, "incoming_number": number, "incoming_year": year})
    return {"receipt": receipt, "incoming_number": number, **status_view(delivery)}


# ---- recipient status ----------------------------------------------------------------
def change_status(session: Session, caller: "Caller", delivery_id: int, status: str,
                  reason: str | None = None) -> dict[str, Any]:
    if status not in SETTABLE:
        raise Unprocessable("Trạng thái không hợp lệ / unknown status",
                            fields={"status": f"one of {', '.join(sorted(SETTABLE))}"})
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise Unprocessable("Lý do quá dài / reason too long",
                            fields={"reason": f"at most {REASON_MAX} characters"})
    if status == "returned" and not reason:
        raise Unprocessable("Cần nêu lý do trả lại / a reason is required to return a document",
                            fields={"reason": "required for status returned (02)"})
    delivery = own_delivery(session, caller, delivery_id, lock=True)
    current = _working_status(session, delivery)
    if delivery.status == "recall_requested" or status not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"Không thể chuyển từ {delivery.status} sang {status} / "
                       f"cannot move from {delivery.status} to {status}", code="invalid_transition")
    previous = delivery.status
    add_event(session, delivery, status, caller.actor, reason)
    session.flush()
    audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="delivery.status",
                 object=f"delivery:{delivery.id}",
                 details={"from": previous, "to": status, "code": CODES[status], "reason": reason})
    return status_view(delivery)


# ---- recall --------------------------------------------------------------------------
def request_recall(session: Session, caller: "Caller", document_id: int, reason: str = "") -> dict[str, Any]:
    """13 on every delivery the caller's agency sent of this document; unacked ones → 15 at once."""
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise Unprocessable("Lý do quá dài / reason too long",
                            fields={"reason": f"at most {REASON_MAX} characters"})
    deliveries = list(session.exec(
        select(Delivery).join(Dispatch, Dispatch.id == Delivery.dispatch_id)
        .where(Delivery.document_id == document_id, Dispatch.sender_agency_id == caller.agency_id)
        .order_by(Delivery.id).with_for_update()
    ))
    if not deliveries:
        raise NotFound("Không tìm thấy văn bản đã gửi / no dispatched document with this id")
    recalled, pending = [], []
    now = utcnow()
    for delivery in deliveries:
        if delivery.status in ("returned", "recalled", "recall_requested"):
            continue
        add_event(session, delivery, "recall_requested", caller.actor, reason, at=now)
        if delivery.acked_at is None:
            add_event(session, delivery, "recalled", caller.actor, reason, at=now)
            recalled.append(delivery)
        else:
            pending.append(delivery)
    if not recalled and not pending:
        raise Conflict("Không còn văn bản nào để thu hồi / nothing left to recall", code="invalid_transition")
    more_recalled, more_pending = recall_forwarded_copies(session, recalled, caller.actor, reason, now)
    recalled += more_recalled
    pending += more_pending
    session.flush()
    audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="document.recall",
                 object=f"document:{document_id}",
                 details={"reason": reason, "recalled": [d.id for d in recalled],
                          "pending": [d.id for d in pending]})
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
            select(Delivery).join(Dispatch, Dispatch.id == Delivery.dispatch_id)
            .where(Dispatch.forwarded_from_id.in_(frontier))  # type: ignore[union-attr]
            .order_by(Delivery.id).with_for_update()
        ).all()
        frontier = []
        for copy in copies:
            if copy.status in ("returned", "recalled", "recall_requested"):
                continue
            add_event(session, copy, "recall_requested", actor, reason, at=at)
            if copy.acked_at is None:
                add_event(session, copy, "recalled", actor, reason, at=at)
                recalled.append(copy)
                frontier.append(copy.id)  # type: ignore[arg-type]
            else:
                pending.append(copy)
    return recalled, pending


def decide_recall(session: Session, caller: "Caller", delivery_id: int, accept: bool,
                  reason: str = "") -> dict[str, Any]:
    delivery = own_delivery(session, caller, delivery_id, lock=True)
    if delivery.status != "recall_requested":
        raise Conflict("Không có yêu cầu thu hồi đang chờ / no recall request is pending",
                       code="invalid_transition")
    status = "recalled" if accept else "recall_refused"
    add_event(session, delivery, status, caller.actor, (reason or "").strip()[:REASON_MAX])
    cascaded: tuple[list[Delivery], list[Delivery]] = ([], [])
    if accept:
        cascaded = recall_forwarded_copies(session, [delivery], caller.actor,
                                           (reason or "").strip()[:REASON_MAX], utcnow())
    session.flush()
    audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="delivery.recall_decision",
                 object=f"delivery:{delivery.id}",
                 details={"accept": accept, "code": CODES[status], "forwarded_recalled": [d.id for d in cascaded[0]],
                          "forwarded_pending": [d.id for d in cascaded[1]]})
    return status_view(delivery)


def history_of(events: Iterable[StatusEvent], created_at: datetime) -> list[dict[str, Any]]:
    """A delivery's history as the API shows it, its creation first."""
    out = [{"status": "queued", "code": None, "at": iso(created_at), "actor": "", "reason": ""}]
    out += [{"status": e.status, "code": e.code or None, "at": iso(e.at), "actor": e.actor, "reason": e.reason}
            for e in events]
    return out
