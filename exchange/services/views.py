"""How documents, deliveries and their histories look in answers: one shape for the API,
the pages and the feeds. Plain reads, inside the caller's unit of work."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa
from sqlmodel import Session, col

from exchange.domain.lifecycle import edxml_code
from exchange.domain.times import api_date, api_time
from exchange.models import Agency, Attachment, Delivery, Document, Revision, StatusEvent
from exchange.services.replacement import replaced_by_map


_LOOK_UP: Any = object()  # document_view's replaced_by when the caller has not looked it up


def document_view(session: Session, document: Document, revisions: list[Revision],
                  attachments: list[dict[str, Any]] | None = None, *,
                  replaced_by: int | None = _LOOK_UP) -> dict[str, Any]:
    """``attachments``: the document's, when the caller read them with others' (:func:`attachments_of`).
    ``replaced_by``: the dispatched document replacing this one, if the caller already
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
        "attachments": attachments if attachments is not None
        else attachments_of(session, [document.id]).get(document.id, []) if document.id else [],
    }


def attachment_view(row: Any) -> dict[str, Any]:
    """An attachment (an ``Attachment`` or a row of its columns). ``content_url`` serves the
    sealed copy of a PDF once the seal made one; ``signature`` is the .p7s of any other file."""
    url = f"/api/v1/documents/{row.document_id}/attachments/{row.id}"
    return {
        "id": row.id, "name": row.name, "sha256": row.blob_sha256, "size": row.size,
        "content_type": row.content_type, "created_at": api_time(row.created_at), "content_url": url,
        "sealed": {"sha256": row.sealed_sha256, "size": row.sealed_size, "sealed_at": api_time(row.sealed_at)}
        if row.sealed_sha256 else None,
        "signature": {"sha256": row.signature_sha256, "size": row.signature_size,
                      "sealed_at": api_time(row.sealed_at), "url": f"{url}/signature"}
        if row.signature_sha256 else None,
    }


def attachments_of(db: Session | sa.Connection, document_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The attachments of several documents in one query, by document id, oldest first."""
    ids = list(document_ids)
    if not ids:
        return {}
    out: dict[int, list[dict[str, Any]]] = {}
    rows = db.execute(sa.select(*Attachment.__table__.columns)  # type: ignore[attr-defined]  # SQLModel's table
                      .where(col(Attachment.document_id).in_(ids)).order_by(col(Attachment.id)))
    for row in rows:
        out.setdefault(row.document_id, []).append(attachment_view(row))
    return out


def status_view(delivery: Delivery) -> dict[str, Any]:
    return {"id": delivery.id, "status": delivery.status, "code": edxml_code(delivery.status)}


def history_view(events: Iterable[StatusEvent], created_at: datetime) -> list[dict[str, Any]]:
    """A delivery's history as the API shows it, its creation first."""
    out: list[dict[str, Any]] = [{"status": "queued", "code": None, "at": api_time(created_at), "actor": "",
                                  "reason": ""}]
    out += [{"status": e.status, "code": e.code or None, "at": api_time(e.at), "actor": e.actor, "reason": e.reason}
            for e in events]
    return out
