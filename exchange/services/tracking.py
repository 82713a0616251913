"""The sender's view of a document's deliveries: every recipient's status and history,
forwards included (each hop with its trace)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from errors import NotFound
from exchange.domain.caller import Caller
from exchange.domain.lifecycle import edxml_code
from exchange.domain.times import api_time
from exchange.models import Agency, Delivery, Dispatch, Document, StatusEvent
from exchange.services.views import history_view
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services


def document_deliveries(svc: "Services", caller: Caller, document_id: int) -> dict[str, Any]:
    with svc.uow() as uow:
        return deliveries_view(uow.session, caller, document_id)


def deliveries_view(session: Session, caller: Caller, document_id: int) -> dict[str, Any]:
    """Sender side: every recipient's status and history. The issuing agency sees every hop,
    forwards included; an agency that forwarded the document sees its own dispatches."""
    document = session.get(Document, document_id)
    stmt = (sa.select(Delivery, col(Dispatch.sender_agency_id), col(Dispatch.forwarded_from_id))
            .join(Dispatch, col(Dispatch.id) == Delivery.dispatch_id)
            .where(col(Delivery.document_id) == document_id).order_by(col(Delivery.id)))
    own = document is not None and document.is_issued_by(caller.agency_id)
    if not own:
        stmt = stmt.where(col(Dispatch.sender_agency_id) == caller.agency_id)
    if document is not None and document.imported:  # its first "dispatch" was an edXML import: only forwards
        stmt = stmt.where(col(Dispatch.forwarded_from_id).is_not(None))
    rows = session.execute(stmt).all()
    if document is None or (not own and not rows):
        raise NotFound(_l("document not found"))
    ids = [d.id for d, _, _ in rows]
    events: dict[int, list[StatusEvent]] = {i: [] for i in ids}
    for start in range(0, len(ids), 1000):
        for event in session.exec(select(StatusEvent).where(col(StatusEvent.delivery_id).in_(ids[start:start + 1000]))
                                  .order_by(col(StatusEvent.id))):
            events[event.delivery_id].append(event)
    agency_ids = {d.recipient_agency_id for d, _, _ in rows} | {d.addressed_agency_id for d, _, _ in rows} | {
        s for _, s, _ in rows}
    codes: dict[int, str] = {}
    agency_list = sorted(agency_ids)
    for start in range(0, len(agency_list), 1000):
        codes.update(session.execute(sa.select(col(Agency.id), col(Agency.code))
                                     .where(col(Agency.id).in_(agency_list[start:start + 1000]))).all())
    out = []
    for delivery, sender_id, forwarded_from in rows:
        trace = json.loads(delivery.trace or "[]")
        entry = {
            "id": delivery.id, "recipient": codes[delivery.recipient_agency_id], "status": delivery.status,
            "code": edxml_code(delivery.status), "sender": codes[sender_id], "forwarded_from": forwarded_from,
            "hop": len(trace), "trace": trace, "incoming_number": delivery.incoming_number,
            "fetched_at": api_time(delivery.fetched_at), "acked_at": api_time(delivery.acked_at),
            "history": history_view(events[delivery.id], delivery.created_at),
        }
        if delivery.addressed_agency_id != delivery.recipient_agency_id:
            entry["addressed_to"] = codes[delivery.addressed_agency_id]
        out.append(entry)
    return {"document_id": document_id, "deliveries": out}
