"""How documents, deliveries and their histories look in answers: one shape for the API,
the pages and the feeds. Plain reads, inside the caller's unit of work."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlmodel import Session

from exchange.domain.lifecycle import edxml_code
from exchange.domain.times import api_date, api_time
from exchange.models import Agency, Delivery, Document, Revision, StatusEvent
from exchange.services.replacement import replaced_by_map


_LOOK_UP: Any = object()  # document_view's replaced_by when the caller has not looked it up


def document_view(session: Session, document: Document, revisions: list[Revision], *,
                  replaced_by: int | None = _LOOK_UP) -> dict[str, Any]:
    """``replaced_by``: the dispatched document replacing this one, if the caller already
    knows (a page looks them all up at once, ``replacement.replaced_by_map``)."""
    if replaced_by is _LOOK_UP:
        replaced_by = replaced_by_map(session, [document.id]).get(document.id) if document.id else None
    issuer = session.get(Agency, document.issuer_agency_id)
    base = f"/api/v1/documents/{document.id}/content"
    return {
        "id": document.id, "issuer": issuer.code if issuer else None,
        "number": document.number, "notation": document.notation, "doc_type": document.doc_type,
        "subject": document.subject, "urgency": document.urgency,
        "confidentiality": document.confidentiality,
        "issued_on": api_date(document.issued_on),
        "place": document.place, "signer_name": document.signer_name,
        "signer_position": document.signer_position,
        "due_on": api_date(document.due_on),
        "reply_to": document.reply_to_id, "replaces": document.replaces_id, "replaced_by": replaced_by,
        "state": document.state,
        "sha256": revisions[-1].blob_sha256 if revisions else None,
        "created_at": api_time(document.created_at),
        "revisions": [{
            "seq": r.seq, "sha256": r.blob_sha256, "size": r.size, "kind": r.kind,
            "profile": r.profile, "level": r.level, "created_at": api_time(r.created_at),
            "content_url": f"{base}?revision={r.seq}",
        } for r in revisions],
    }


def status_view(delivery: Delivery) -> dict[str, Any]:
    return {"id": delivery.id, "status": delivery.status, "code": edxml_code(delivery.status)}


def history_view(events: Iterable[StatusEvent], created_at: datetime) -> list[dict[str, Any]]:
    """A delivery's history as the API shows it, its creation first."""
    out: list[dict[str, Any]] = [{"status": "queued", "code": None, "at": api_time(created_at), "actor": "",
                                  "reason": ""}]
    out += [{"status": e.status, "code": e.code or None, "at": api_time(e.at), "actor": e.actor, "reason": e.reason}
            for e in events]
    return out
