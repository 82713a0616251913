"""Helpers for the delivery tests: the shared world, callers built from it, sealed documents."""
from __future__ import annotations

import hashlib
from datetime import date

from sqlmodel import Session

from exchange.models import Agency, Document, Revision
from tests.db import services_of, session_scope
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


# --- rows of the security matrix (tests/integration/exchange/http/test_security_matrix.py) -----------

def _dispatched(ctx, to: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from exchange.services.dispatch import Recipients, dispatch_document
    from tests.exchange_fixtures import caller_for

    doc = ctx.document("clerk", state="sealed")
    view, _ = dispatch_document(services_of(ctx.app), caller_for(ctx.world, "clerk"), doc, Recipients(to=(to,)),
                                f"m-{doc}")
    return doc, view["deliveries"][0]["id"]


def _acked(ctx) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from exchange.services import delivery as deliveries
    from tests.exchange_fixtures import caller_for

    commune = ctx.world.all_communes[0]
    doc, delivery = _dispatched(ctx, commune)
    deliveries.acknowledge(services_of(ctx.app), caller_for(ctx.world, commune), delivery)
    return doc, delivery


def matrix_sealed(ctx) -> dict:  # type: ignore[no-untyped-def]
    return {"doc": ctx.document("clerk", state="sealed")}


def matrix_dispatched(ctx) -> dict:  # type: ignore[no-untyped-def]
    doc, delivery = _dispatched(ctx, ctx.world.all_communes[0])
    return {"doc": doc, "delivery": delivery}


def matrix_to_district(ctx) -> dict:  # type: ignore[no-untyped-def]
    doc, delivery = _dispatched(ctx, ctx.world.districts[0])
    return {"doc": doc, "delivery": delivery}


def matrix_acked(ctx) -> dict:  # type: ignore[no-untyped-def]
    doc, delivery = _acked(ctx)
    return {"doc": doc, "delivery": delivery}


def matrix_recall_requested(ctx) -> dict:  # type: ignore[no-untyped-def]
    from exchange.services import delivery as deliveries
    from tests.exchange_fixtures import caller_for

    doc, delivery = _acked(ctx)
    deliveries.request_recall(services_of(ctx.app), caller_for(ctx.world, "clerk"), doc, "ma trận")
    return {"doc": doc, "delivery": delivery}


def matrix_dispatch_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return {"json": {"to": [ctx.world.all_communes[0]]}, "headers": {"Idempotency-Key": "matrix"}}


def matrix_forward_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return {"json": {"children_of": ctx.world.districts[0]}, "headers": {"Idempotency-Key": "matrix"}}


def matrix_inbox_leaks(ctx, fields: dict, response) -> bool:  # type: ignore[no-untyped-def]
    return any(item["delivery_id"] == fields["delivery"] for item in response.json["items"])
