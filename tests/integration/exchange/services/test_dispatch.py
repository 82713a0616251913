"""Dispatch as a service: recipients, routing, idempotency, sealing policy, gapless seq."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from errors import Conflict, NotFound, Unprocessable
from exchange.services.dispatch import Recipients, dispatch_document
from exchange.models import Agency, AuditEvent, Counter, Delivery, Dispatch, Document
from tests.db import session_scope
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import add_agency, sealed_document, world


def _counts(engine) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (Dispatch, Delivery, Counter, AuditEvent))


def test_dispatch_creates_one_queued_delivery_per_recipient_and_marks_the_document_sent(engine, services):
    w = world(engine)
    doc = sealed_document(engine, w)
    communes = w.all_communes[:3]
    view, created = dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=tuple(communes)), "k1")
    assert created and view["id"]
    assert sorted(d["recipient"] for d in view["deliveries"]) == sorted(communes)
    assert {d["status"] for d in view["deliveries"]} == {"queued"}
    with session_scope(engine) as session:
        assert session.get(Document, doc).state == "sent"
        rows = session.exec(select(Delivery).where(Delivery.dispatch_id == view["id"])).all()
        assert [r.seq for r in rows] == [1, 1, 1]
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "document.dispatch")).one()
        assert event.agency_code == w.province and event.actor == "vanthu.tinh"


def test_children_of_reaches_every_depth_and_filters_by_level(engine, services):
    w = world(engine)
    doc = sealed_document(engine, w)
    view, _ = dispatch_document(services, caller_for(w, w.province), doc,
                                Recipients(children_of=w.province, level="commune"), "all-communes")
    assert sorted(d["recipient"] for d in view["deliveries"]) == sorted(w.all_communes)
    other = sealed_document(engine, w)  # the first document's communes hold it already
    view, _ = dispatch_document(services, caller_for(w, w.province), other,
                                Recipients(children_of=w.districts[1]), "one-district")
    assert sorted(d["recipient"] for d in view["deliveries"]) == sorted(w.communes[w.districts[1]])


def test_seq_is_gapless_per_recipient_across_dispatches(engine, services):
    w = world(engine)
    a, b = w.all_communes[:2]
    for i, to in enumerate([(a,), (a, b), (b,), (a,)]):  # one document each: a copy is never sent twice
        dispatch_document(services, caller_for(w, "clerk"), sealed_document(engine, w), Recipients(to=to), f"k{i}")
    with session_scope(engine) as session:
        seqs = {code: sorted(d.seq for d in session.exec(select(Delivery).where(
            Delivery.recipient_agency_id == w.agency_ids[code]))) for code in (a, b)}
    assert seqs == {a: [1, 2, 3], b: [1, 2]}


def test_same_key_same_body_returns_the_same_dispatch_and_other_body_is_409(engine, services):
    w = world(engine)
    doc = sealed_document(engine, w)
    clerk = caller_for(w, "clerk")
    first, created = dispatch_document(services, clerk, doc, Recipients(to=(w.all_communes[0], w.all_communes[1])), "same")
    again, created_again = dispatch_document(services, clerk, doc, Recipients(to=(w.all_communes[1], w.all_communes[0])), "same")
    assert created and not created_again and again == first
    before = _counts(engine)
    with pytest.raises(Conflict) as info:
        dispatch_document(services, clerk, doc, Recipients(to=(w.all_communes[2],)), "same")
    assert info.value.code == "idempotency_conflict"
    assert _counts(engine) == before


@pytest.mark.parametrize("recipients, field", [
    (Recipients(to=("000.99.99.H62",)), "to"),
    (Recipients(), "to"),
    (Recipients(children_of="000.99.99.H62"), "children_of"),
    (Recipients(children_of="000.00.00.H62", level="hamlet"), "level"),
    (Recipients(to=("000.00.00.H62",)), "to"),  # the sender itself
])
def test_bad_recipients_are_422_per_field_and_change_nothing(engine, services, recipients, field):
    w = world(engine)
    doc = sealed_document(engine, w)
    before = _counts(engine)
    with pytest.raises(Unprocessable) as info:
        dispatch_document(services, caller_for(w, "clerk"), doc, recipients, "bad")
    assert field in (info.value.fields or {})
    assert _counts(engine) == before


def test_missing_idempotency_key_is_422(engine, services):
    w = world(engine)
    doc = sealed_document(engine, w)
    with pytest.raises(Unprocessable) as info:
        dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=(w.all_communes[0],)), None)
    assert "Idempotency-Key" in info.value.fields


def test_only_a_sealed_document_goes_unless_the_issuer_allows_unsigned_information(engine, services):
    w = world(engine)
    draft = sealed_document(engine, w, state="signed")
    before = _counts(engine)
    with pytest.raises(Conflict) as info:
        dispatch_document(services, caller_for(w, "clerk"), draft, Recipients(to=(w.all_communes[0],)), "k")
    assert info.value.code == "not_sealed" and _counts(engine) == before
    with session_scope(engine, write=True) as session:
        session.get(Agency, w.agency_ids[w.province]).allow_unsigned_info = True
    view, _ = dispatch_document(services, caller_for(w, "clerk"), draft, Recipients(to=(w.all_communes[0],)), "k")
    assert len(view["deliveries"]) == 1


def test_another_agencys_document_is_not_found(engine, services):
    w = world(engine)
    doc = sealed_document(engine, w)
    with pytest.raises(NotFound):
        dispatch_document(services, caller_for(w, "other_clerk"), doc, Recipients(to=(w.all_communes[0],)), "k")


def test_a_merged_recipient_is_routed_to_its_successor_and_the_redirect_shows(engine, services):
    w = world(engine)
    doc = sealed_document(engine, w)
    with session_scope(engine, write=True) as session:
        merged = add_agency(session, "000.09.01.H62", w.districts[0], valid_from=date(2020, 1, 1),
                            valid_to=date(2025, 6, 30), successor_id=w.agency_ids[w.all_communes[0]])
        assert merged.id
    view, _ = dispatch_document(services, caller_for(w, "clerk"), doc,
                                Recipients(to=("000.09.01.H62", w.all_communes[0])), "k")
    assert view["deliveries"] == [{"id": view["deliveries"][0]["id"], "recipient": w.all_communes[0],
                                   "status": "queued", "code": None, "addressed_to": "000.09.01.H62"}]


def test_children_of_walks_any_depth_in_one_query_and_ends_on_a_loop(engine):
    """The recursive walk: every depth, only the level asked for, the start never included,
    and a parent loop (the start under its own descendant) ends instead of spinning."""
    from exchange.services.dispatch import _descendant_rows

    with session_scope(engine, write=True) as session:
        top = Agency(code="900.00.00.H90", name="Gốc", level="other")
        session.add(top)
        session.flush()
        mid = Agency(code="900.01.00.H90", name="Tỉnh", level="province", parent_id=top.id)
        session.add(mid)
        session.flush()
        low = [Agency(code=f"900.01.0{i}.H90", name=f"Xã {i}", level="commune", parent_id=mid.id) for i in (1, 2)]
        session.add_all(low)
        session.flush()
        deep = Agency(code="900.01.01.H91", name="Phòng", level="commune", parent_id=low[0].id)
        session.add(deep)
        session.flush()
        top.parent_id = deep.id  # a loop: the top under its own great-grandchild
    with session_scope(engine) as session:
        communes = [r.code for r in _descendant_rows(session, "900.00.00.H90", "commune")]
        everything = [r.code for r in _descendant_rows(session, "900.00.00.H90", None)]
    assert communes == ["900.01.01.H90", "900.01.01.H91", "900.01.02.H90"]
    assert everything == ["900.01.00.H90", *communes]
