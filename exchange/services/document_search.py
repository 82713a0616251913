"""``GET /documents`` with search and filters: the caller's agency's documents by số/ký hiệu
and trích yếu (``q``, case- and diacritics-insensitive), type, urgency, state and issue dates.

``q`` is folded like the stored ``Document.search_text`` (``exchange.domain.search``) and each
of its words must occur in it (``LIKE '%word%'``, all words). An infix ``LIKE`` uses no
B-tree index, so what bounds the work is the rest of the ``WHERE``: only the caller's
agency's rows (index on ``issuer_agency_id``) after the cursor, by id, stopping at ``limit``
matches. A trigram index (PostgreSQL ``pg_trgm``) would make it indexable; it is not needed
at one agency's volume (tens of thousands of documents a year) and SQLite has none.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from errors import Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.search import LIKE_ESCAPE, search_words
from exchange.models import Document, Revision
from exchange.services.replacement import replaced_by_map
from exchange.services.views import attachments_of, document_view
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

Q_WORDS_MAX = 10


@dataclass(frozen=True)
class DocumentFilters:
    q: str = ""
    doc_type: str | None = None
    urgency: str | None = None
    state: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None


def check_filters(filters: DocumentFilters) -> list[str]:
    """The folded words of ``q``; 422 for a range that ends before it starts."""
    if filters.issued_from and filters.issued_to and filters.issued_to < filters.issued_from:
        raise Unprocessable(_l("the date range ends before it starts"),
                            fields={"issued_to": _l("must not precede issued_from")})
    words = search_words(filters.q)
    if len(words) > Q_WORDS_MAX:
        raise Unprocessable(_l("too many search words"),
                            fields={"q": _l("at most %(max)s words", max=Q_WORDS_MAX)})
    return words


def search_page(svc: "Services", caller: Caller, filters: DocumentFilters, *, after: int,
                limit: int) -> dict[str, Any]:
    """Documents issued by the caller's agency that match every filter, by id, after the cursor."""
    words = check_filters(filters)
    stmt = select(Document).where(Document.issuer_agency_id == caller.agency_id, col(Document.id) > after,
                                  col(Document.imported).is_(False))
    for word in words:
        stmt = stmt.where(col(Document.search_text).like(f"%{word}%", escape=LIKE_ESCAPE))
    if filters.doc_type:
        stmt = stmt.where(Document.doc_type == filters.doc_type)
    if filters.urgency:
        stmt = stmt.where(Document.urgency == filters.urgency)
    if filters.state:
        stmt = stmt.where(Document.state == filters.state)
    if filters.issued_from:
        stmt = stmt.where(col(Document.issued_on) >= filters.issued_from)
    if filters.issued_to:
        stmt = stmt.where(col(Document.issued_on) <= filters.issued_to)
    with svc.uow() as uow:
        session = uow.session
        documents = list(session.exec(stmt.order_by(col(Document.id)).limit(limit + 1)).all())
        page = documents[:limit]
        ids = [d.id for d in page if d.id is not None]
        revisions: dict[int, list[Revision]] = {i: [] for i in ids}
        if ids:
            for revision in session.exec(select(Revision).where(col(Revision.document_id).in_(ids))
                                         .order_by(col(Revision.seq))).all():
                revisions[revision.document_id].append(revision)
        replaced_by = replaced_by_map(session, ids)
        attachments = attachments_of(session, ids)
        items = [document_view(session, d, revisions[d.id], attachments.get(d.id, []),
                               replaced_by=replaced_by.get(d.id))
                 for d in page if d.id is not None]
    return {"items": items, "next_cursor": items[-1]["id"] if len(documents) > limit and items else None}
