"""Replacement of a sent document (edXML BussinessDocType 3, Decree 30 Art. 18.3: content
errors are corrected by a replacing document).

A new document declares ``replaces: ID`` in its upload metadata. Only the issuer's agency
may replace its own document, once that document has been dispatched, and each document has
at most one replacement (a unique column, checked here under a lock on the replaced row, so
two racing uploads cannot both win). The replaced document shows ``replaced_by`` once the
replacement has been dispatched: until then the recipients have nothing to switch to.

Revocation (BussinessDocType 1, thu hồi) is the existing recall: ``POST
/documents/{id}/recall`` → 13, and the recipient's 15/16 (``exchange.services.delivery``).
"""
from __future__ import annotations

from typing import Iterable

from sqlmodel import Session, col, select

from errors import Conflict, ErrorCode, Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.enums import DocumentState
from exchange.models import Delivery, Document
from translations import _l


def replaced_by_map(session: Session, document_ids: Iterable[int]) -> dict[int, int]:
    """For each of ``document_ids`` that a dispatched document replaces: that document's id."""
    wanted = sorted(set(document_ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = session.exec(select(Document.replaces_id, Document.id)
                            .where(col(Document.replaces_id).in_(chunk), Document.state == DocumentState.SENT)).all()
        found.update({replaced: replacing for replaced, replacing in rows
                      if replaced is not None and replacing is not None})
    return found


def check_replaces(session: Session, caller: Caller, replaces_id: int | None, *, lock: bool = False) -> None:
    """Refuse a ``replaces`` the caller may not declare: not its agency's (422), not yet
    dispatched or already replaced (409). ``lock`` (inside the upload's write transaction):
    hold the replaced row until the commit, so that a racing second replacement waits and
    then sees the first."""
    if replaces_id is None:
        return
    stmt = select(Document).where(Document.id == replaces_id)
    if lock:
        stmt = stmt.with_for_update()
    replaced = session.exec(stmt).one_or_none()
    if replaced is None or not replaced.is_issued_by(caller.agency_id):
        received = replaced is not None and session.exec(
            select(Delivery.id).where(Delivery.document_id == replaces_id,
                                      Delivery.recipient_agency_id == caller.agency_id)).first() is not None
        if not received:  # another agency's document the caller never got: as if missing
            raise Unprocessable(_l("the replaced document does not exist"),
                                fields={"metadata.replaces": _l("unknown document")})
        raise Unprocessable(_l("only the issuing agency may replace a document"), code=ErrorCode.REPLACE_REFUSED,
                            fields={"metadata.replaces": _l("another agency's document")})
    if replaced.state != DocumentState.SENT:
        raise Conflict(_l("only a dispatched document can be replaced"), code=ErrorCode.NOT_DISPATCHED)
    taken = session.exec(select(Document.id).where(Document.replaces_id == replaces_id)).first()
    if taken is not None:
        raise Conflict(_l("document %(id)s already replaces it", id=taken), code=ErrorCode.ALREADY_REPLACED)
