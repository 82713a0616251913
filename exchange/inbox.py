"""The inbox an agency's system polls: deliveries to the caller's agency in ``seq`` order.

The cursor is the recipient's own gapless ``seq`` (``exchange.dispatch``): seq n+1 cannot
commit before seq n, so "everything after my cursor" never skips a late commit. A poll that
finds nothing new usually costs no query at all (``exchange.notify`` keeps a per-agency
high-water mark); otherwise it is one indexed query on ``(recipient_agency_id, seq)``.
With ``wait`` the request sleeps until news arrives for the agency or the time is up.
"""
from __future__ import annotations

import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from errors import Unprocessable
from exchange import notify
from exchange.lifecycle import CODES, iso
from exchange.models import Agency, Delivery, Dispatch, Document, Revision

if TYPE_CHECKING:
    from exchange.auth import Caller

LIMIT_MAX = 200
WAIT_MAX = 60
UNTRUSTED_WAIT_SLICE_S = 1.0  # without a listener, look again this often

_sender = sa.orm.aliased(Agency, name="sender")
_addressed = sa.orm.aliased(Agency, name="addressed")
_ITEMS = (
    sa.select(Delivery.id, Delivery.seq, Delivery.status, Delivery.incoming_number, Delivery.trace,
              Delivery.created_at, Delivery.recipient_agency_id, Delivery.addressed_agency_id,
              _addressed.code, _sender.code, _sender.name, Revision.seq, Revision.blob_sha256, Revision.size,
              Document.id, Document.number, Document.notation, Document.doc_type, Document.subject,
              Document.urgency, Document.confidentiality, Document.issued_on, Document.place,
              Document.signer_name, Document.signer_position, Document.due_on, Document.reply_to_id)
    .join(Dispatch, Dispatch.id == Delivery.dispatch_id)
    .join(Revision, Revision.id == Dispatch.revision_id)
    .join(Document, Document.id == Delivery.document_id)
    .join(_sender, _sender.id == Dispatch.sender_agency_id)
    .join(_addressed, _addressed.id == Delivery.addressed_agency_id)
    .where(Delivery.recipient_agency_id == sa.bindparam("agency"), Delivery.seq > sa.bindparam("after"))
    .order_by(Delivery.seq)
    .limit(sa.bindparam("limit"))
)


def parse_cursor(after: str | None) -> int:
    if after in (None, ""):
        return 0
    if not after.isdigit() or len(after) > 18:  # type: ignore[union-attr]
        raise Unprocessable("Con trỏ không hợp lệ / invalid cursor", fields={"after": "a next_cursor value"})
    return int(after)  # type: ignore[arg-type]


def _when(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return iso(value) if isinstance(value, datetime) else value.isoformat()


def _items(rows: list[sa.Row]) -> list[dict[str, Any]]:
    traces: dict[str, Any] = {}  # one dispatch's deliveries share one trace text: parse it once
    out = []
    for (delivery_id, seq, status, incoming_number, trace, created_at, recipient_id, addressed_id, addressed_code,
         sender_code, sender_name, revision_seq, sha256, size, doc_id, number, notation, doc_type, subject,
         urgency, confidentiality, issued_on, place, signer_name, signer_position, due_on, reply_to) in rows:
        hops = traces.get(trace)
        if hops is None:
            hops = traces[trace] = json.loads(trace or "[]")
        item: dict[str, Any] = {
            "delivery_id": delivery_id,
            "seq": seq,
            "document": {
                "id": doc_id, "sha256": sha256, "size": size, "revision": revision_seq,
                "number": number, "notation": notation, "doc_type": doc_type, "subject": subject,
                "urgency": urgency, "confidentiality": confidentiality, "issued_on": _when(issued_on),
                "place": place, "signer_name": signer_name, "signer_position": signer_position,
                "due_on": _when(due_on), "reply_to": reply_to,
            },
            "sender": sender_code,
            "sender_name": sender_name,
            "status": status,
            "code": CODES[status],
            "incoming_number": incoming_number,
            "trace": hops,
            "created_at": _when(created_at),
            "content_url": f"/api/v1/documents/{doc_id}/content?revision={revision_seq}",
        }
        if addressed_id != recipient_id:
            item["addressed_to"] = addressed_code
        out.append(item)
    return out


def fetch(engine: Engine, agency_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    """One indexed query, or none when this process knows nothing newer exists."""
    notifier = notify.notifier_for(engine)
    if notifier.nothing_after(agency_id, after):
        return []
    token = notifier.snapshot(agency_id)
    with engine.connect() as conn:
        rows = conn.execute(_ITEMS, {"agency": agency_id, "after": after, "limit": limit}).all()
    if len(rows) < limit:
        notifier.record_exhausted(agency_id, rows[-1][1] if rows else after, token)
    return _items(rows)


def poll(engine: Engine, caller: "Caller", after: str | None = None, limit: int = 50,
         wait: float = 0) -> dict[str, Any]:
    """The caller's agency's deliveries after the cursor, oldest first; waits up to ``wait`` s."""
    cursor = parse_cursor(after)
    if not 1 <= limit <= LIMIT_MAX:
        raise Unprocessable("limit không hợp lệ / invalid limit", fields={"limit": f"1 to {LIMIT_MAX}"})
    if not 0 <= wait <= WAIT_MAX:
        raise Unprocessable("wait không hợp lệ / invalid wait", fields={"wait": f"0 to {WAIT_MAX} seconds"})
    notifier = notify.notifier_for(engine)
    deadline = time.monotonic() + wait
    event = notifier.subscribe(caller.agency_id) if wait > 0 else None
    try:
        while True:
            items = fetch(engine, caller.agency_id, cursor, limit)
            remaining = deadline - time.monotonic()
            if items or event is None or remaining <= 0:
                break
            event.wait(remaining if notifier.listening else min(remaining, UNTRUSTED_WAIT_SLICE_S))
            event.clear()
    finally:
        if event is not None:
            notifier.unsubscribe(caller.agency_id, event)
    return {"items": items, "next_cursor": str(items[-1]["seq"] if items else cursor)}


def caller_can_read(session: Session, caller: "Caller", document_id: int) -> bool:
    """True when the caller's agency received this document (and it was not recalled from it)."""
    found = session.execute(
        sa.select(Delivery.id).where(Delivery.document_id == document_id,
                                     Delivery.recipient_agency_id == caller.agency_id,
                                     Delivery.status != "recalled").limit(1)
    ).first()
    return found is not None
