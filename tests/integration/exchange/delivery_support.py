"""Helpers for the delivery tests: the shared world, callers built from it, sealed documents."""
from __future__ import annotations

import hashlib
from datetime import date

from sqlmodel import Session

from exchange.models import Agency, Document, Revision
from storage.db import session_scope
from tests.exchange_fixtures import World, build_world


def world(engine) -> World:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        return build_world(session)


def sealed_document(engine, w: World, code: str | None = None, state: str = "sealed",  # type: ignore[no-untyped-def]
                    content: bytes = b"%PDF-1.7 test") -> int:
    """A document of ``code`` (the province by default) in ``state`` with one revision."""
    with session_scope(engine, write=True) as session:
        doc = Document(issuer_agency_id=w.agency_ids[code or w.province], number="12", notation="UBND-VP",
                       doc_type="Công văn", subject="V/v thử nghiệm liên thông", issued_on=date(2026, 11, 20),
                       state=state)
        session.add(doc)
        session.flush()
        session.add(Revision(document_id=doc.id, seq=1, blob_sha256=hashlib.sha256(content).hexdigest(),
                             size=len(content), kind="signed", profile="seal"))
        return doc.id  # type: ignore[return-value]


def add_agency(session: Session, code: str, parent_code: str | None, level: str = "commune", **kw) -> Agency:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    parent = session.exec(select(Agency).where(Agency.code == parent_code)).one() if parent_code else None
    agency = Agency(code=code, name=f"Cơ quan {code}", level=level, parent_id=parent.id if parent else None, **kw)
    session.add(agency)
    session.flush()
    return agency
