"""The events feed's writer: what an audited change means for each agency it concerns.

``audit_log.record`` calls :func:`feed` for every change, in the change's own transaction; the
actions the feed tells of (below) become rows of ``agency_event``, one per agency and event,
each with the agency's next gapless ``seq`` (counter ``"events"``). Every caller of ``feed``
already holds the audit head's lock (``audit_log.record`` takes it first), so event seqs
are handed out in commit order for all agencies at once: a reader resuming after its cursor
never skips a late commit. Other actions (logins, uploads, ...) cost one dict look-up.

Once the unit of work commits, every process learns of the new ``(agency, seq)`` pairs:
``pg_notify`` on PostgreSQL, the ``data_version`` watcher on SQLite, and the unit of work's
after-commit hook for waiters of this process (``EVENT_NOTIFIER`` in the session's info).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlmodel import Session, col

from exchange.adapters import counters
from exchange.adapters.notify import EVENTS_CHANNEL, Notifier, notify_at_commit
from exchange.domain.enums import DeliveryStatus
from exchange.models import Agency, AgencyEvent, Delivery, Dispatch, Document
from exchange.domain.numbers import whole_number

COUNTER = "events"
EVENT_NOTIFIER = "event_notifier"  # key of the Services' events notifier in a session's info


@dataclass(frozen=True)
class Change:
    """One audited change, as ``audit_log.record`` wrote it."""

    action: str
    object_id: int | None  # N of "delivery:N" / "document:N"
    agency_code: str  # the acting agency
    details: dict[str, Any]
    concerned: list[int]  # the outbox's agency_ids


@dataclass
class Event:
    agency_id: int
    kind: str
    delivery_id: int | None = None
    document_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _object_id(object: str) -> int | None:
    _, _, tail = object.partition(":")
    return whole_number(tail)


def _new_deliveries(session: Session, dispatch_id: int) -> list[Event]:
    rows = session.execute(
        sa.select(col(Delivery.id), col(Delivery.recipient_agency_id), col(Delivery.document_id), col(Delivery.seq))
        .where(col(Delivery.dispatch_id) == dispatch_id).order_by(col(Delivery.id))).all()
    return [Event(recipient, "delivery.created", delivery_id, document_id,
                  {"dispatch_id": dispatch_id, "inbox_seq": seq}) for delivery_id, recipient, document_id, seq in rows]


def _recipients(session: Session, delivery_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """``{delivery_id: (recipient_agency_id, document_id)}``."""
    ids = list(delivery_ids)
    if not ids:
        return {}
    rows = session.execute(sa.select(col(Delivery.id), col(Delivery.recipient_agency_id), col(Delivery.document_id))
                           .where(col(Delivery.id).in_(ids))).all()
    return {delivery_id: (recipient, document_id) for delivery_id, recipient, document_id in rows}


def _recall_events(session: Session, recalled: list[int], pending: list[int], reason: str) -> list[Event]:
    """Recipients' side of a recall: every copy asked (13); those not yet acknowledged are
    taken back at once (15), which decides their recall without them."""
    found = _recipients(session, [*recalled, *pending])
    events: list[Event] = []
    for delivery_id in [*recalled, *pending]:
        if delivery_id not in found:
            continue
        recipient, document_id = found[delivery_id]
        events.append(Event(recipient, "recall.requested", delivery_id, document_id, {"reason": reason}))
        if delivery_id in recalled:
            events.append(Event(recipient, "recall.decided", delivery_id, document_id,
                                {"accept": True, "code": DeliveryStatus.RECALLED.edxml_code, "automatic": True,
                                 "reason": reason}))
    return events


def _dispatched(session: Session, change: Change) -> list[Event]:
    events = _new_deliveries(session, int(change.details["dispatch_id"]))
    document_id = change.object_id
    replaced = session.execute(sa.select(col(Document.replaces_id)).where(col(Document.id) == document_id)).scalar()
    dispatches = session.execute(sa.select(sa.func.count()).select_from(Dispatch)
                                 .where(col(Dispatch.document_id) == document_id)).scalar()
    if replaced is not None and dispatches == 1:  # the replacement's first dispatch: replaced_by shows from now on
        rows = session.execute(sa.select(col(Delivery.id), col(Delivery.recipient_agency_id))
                               .where(col(Delivery.document_id) == replaced,
                                      col(Delivery.status) != DeliveryStatus.RECALLED.value)
                               .order_by(col(Delivery.id))).all()
        events += [Event(recipient, "document.replaced", delivery_id, replaced, {"replaced_by": document_id})
                   for delivery_id, recipient in rows]
    return events


HOPS_MAX = 20  # the directory is a tree a few levels deep: a longer chain is a loop, not a route


def _forwarded(session: Session, change: Change) -> list[Event]:
    """The new copies' recipients; and every sender up the chain the forwarded delivery came
    down (its own sender, that one's sender, ...): each hears of the hop, on its own delivery."""
    dispatch_id = int(change.details["dispatch_id"])
    events = _new_deliveries(session, dispatch_id)
    codes = dict(session.execute(sa.select(col(Agency.id), col(Agency.code))
                                 .where(col(Agency.id).in_([e.agency_id for e in events]))).all())
    data = {"by": change.agency_code, "dispatch_id": dispatch_id, "to": sorted(codes[e.agency_id] for e in events)}
    upstream = change.object_id
    for _ in range(HOPS_MAX):
        if upstream is None:
            break
        row = session.execute(sa.select(col(Dispatch.sender_agency_id), col(Delivery.document_id),
                                        col(Dispatch.forwarded_from_id))
                              .join(Delivery, col(Delivery.dispatch_id) == Dispatch.id)
                              .where(col(Delivery.id) == upstream)).first()
        if row is None:
            break
        sender, document_id, came_from = row
        events.append(Event(sender, "forwarded", upstream, document_id, data))
        upstream = came_from
    return events


def _to_sender(session: Session, change: Change, kind: str, data: dict[str, Any]) -> list[Event]:
    """One event for the agency that sent the delivery ``change.object_id`` (not the acting recipient)."""
    if change.object_id is None:
        return []
    row = session.execute(sa.select(col(Dispatch.sender_agency_id), col(Delivery.document_id),
                                    col(Dispatch.forwarded_from_id), col(Document.imported))
                          .join(Delivery, col(Delivery.dispatch_id) == Dispatch.id)
                          .join(Document, col(Document.id) == Delivery.document_id)
                          .where(col(Delivery.id) == change.object_id)).first()
    if row is None:
        return []
    sender, document_id, forwarded_from, imported = row
    if imported and forwarded_from is None:  # an edXML import: its From is another system's, told nothing here
        return []
    return [Event(sender, kind, change.object_id, document_id, {"recipient": change.agency_code, **data})]


def _acked(session: Session, change: Change) -> list[Event]:
    return _to_sender(session, change, "delivery.acked", {})


def _status(session: Session, change: Change) -> list[Event]:
    return _to_sender(session, change, "delivery.status",
                      {"status": change.details["to"], "code": change.details["code"],
                       "reason": change.details.get("reason") or ""})


def _recall(session: Session, change: Change) -> list[Event]:
    return _recall_events(session, list(change.details.get("recalled", [])), list(change.details.get("pending", [])),
                          change.details.get("reason") or "")


def _recall_decided(session: Session, change: Change) -> list[Event]:
    reason = change.details.get("reason") or ""
    decided = _to_sender(session, change, "recall.decided",
                         {"accept": change.details["accept"], "code": change.details["code"], "reason": reason})
    # an accepted recall takes back what the recipient forwarded: those recipients are told too
    return decided + _recall_events(session, list(change.details.get("forwarded_recalled", [])),
                                    list(change.details.get("forwarded_pending", [])), reason)


def _edxml_import(session: Session, change: Change) -> list[Event]:
    """An edXML package imported into the caller's inbox (a new delivery), or a revocation
    package asking an imported copy back (exchange.services.edxml)."""
    if "dispatch_id" in change.details:
        return _new_deliveries(session, int(change.details["dispatch_id"]))
    recall = change.details.get("recall") or {}
    return _recall_events(session, list(recall.get("recalled", [])), list(recall.get("pending", [])),
                          str(recall.get("reason", "")))


_BUILDERS: dict[str, Callable[[Session, Change], list[Event]]] = {
    "document.dispatch": _dispatched,
    "delivery.forward": _forwarded,
    "delivery.ack": _acked,
    "delivery.status": _status,
    "document.recall": _recall,
    "delivery.recall_decision": _recall_decided,
    "edxml.import": _edxml_import,
}


def feed(session: Session, *, action: str, object: str, agency_code: str, details: dict[str, Any],
         concerned: list[int], outbox_id: str, at: datetime) -> None:
    """Write the change's events for each agency it concerns (the caller holds the audit head)."""
    build = _BUILDERS.get(action)
    if build is None:
        return
    events = build(session, Change(action, _object_id(object), agency_code, details, concerned))
    if not events:
        return
    # an agency may get several events from one change: one bump per round, ascending ids in each
    per_agency: dict[int, list[Event]] = {}
    for event in events:
        per_agency.setdefault(event.agency_id, []).append(event)
    seqs: dict[int, list[int]] = {agency_id: [] for agency_id in per_agency}
    for round in range(max(len(v) for v in per_agency.values())):
        bumped = counters.bump(session, COUNTER, [a for a, v in per_agency.items() if len(v) > round])
        for agency_id, value in bumped.items():
            seqs[agency_id].append(value)
    rows, pairs = [], []
    for agency_id, agency_events in per_agency.items():
        for event, seq in zip(agency_events, seqs[agency_id], strict=True):
            rows.append({"agency_id": agency_id, "seq": seq, "outbox_id": outbox_id, "kind": event.kind, "at": at,
                         "delivery_id": event.delivery_id, "document_id": event.document_id,
                         "data": json.dumps(event.data, ensure_ascii=False, sort_keys=True)})
        pairs.append((agency_id, seqs[agency_id][-1]))
    session.execute(sa.insert(AgencyEvent), rows)
    notifier = session.info.get(EVENT_NOTIFIER)
    notify_at_commit(session, EVENTS_CHANNEL, pairs)
    uow = session.info.get("unit_of_work")
    if isinstance(notifier, Notifier) and uow is not None:
        uow.after_commit(lambda: notifier.published(pairs))
