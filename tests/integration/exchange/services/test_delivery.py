"""Ack (transport receipt, no number), the recipient's status moves (accepted: số đến),
recall and its decision."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import select

from errors import Conflict, NotFound, Unprocessable
from exchange.services import delivery as deliveries
from exchange.services import receipts
from exchange.services.dispatch import Recipients, dispatch_document
from exchange.models import AuditEvent, Delivery, StatusEvent
from tests.db import session_scope
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import sealed_document, world


@pytest.fixture
def key(services):  # type: ignore[no-untyped-def]
    return services.receipt_key


def _send(services, w, codes, key="k"):  # type: ignore[no-untyped-def]
    doc = sealed_document(services.engine, w)
    view, _ = dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=tuple(codes)), key)
    return doc, {d["recipient"]: d["id"] for d in view["deliveries"]}


def _snapshot(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        deliveries = conn.execute(sa.select(Delivery.__table__).order_by(Delivery.id)).all()
        events = conn.execute(sa.select(sa.func.count()).select_from(StatusEvent)).scalar_one()
        audits = conn.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()
    return deliveries, events, audits


def test_first_ack_signs_a_receipt_without_a_number_repeat_gives_the_same(engine, services, key):
    w = world(engine)
    commune = w.all_communes[0]
    doc, ids = _send(services, w, [commune])
    me = caller_for(w, commune)
    first = deliveries.acknowledge(services, me, ids[commune])
    assert first["status"] == "delivered" and first["code"] == "01" and "incoming_number" not in first
    receipt = first["receipt"]
    assert receipt["recipient"] == commune and receipt["document_id"] == doc
    assert "incoming_number" not in receipt and "incoming_year" not in receipt  # the số đến comes at 03
    assert len(receipt["document_sha256"]) == 64 and receipt["received_at"].endswith("Z")
    assert receipts.verify(receipt, key.public)
    assert not receipts.verify({**receipt, "recipient": w.all_communes[1]}, key.public)
    again = deliveries.acknowledge(services, me, ids[commune])
    assert again["receipt"] == receipt
    _, more = _send(services, w, [commune], key="k2")
    deliveries.acknowledge(services, me, more[commune])
    # the số đến is given in the order the documents are accepted, not acked
    assert deliveries.change_status(services, me, more[commune], "accepted")["incoming_number"] == 1
    assert deliveries.change_status(services, me, ids[commune], "accepted")["incoming_number"] == 2
    with session_scope(engine) as session:
        events = session.exec(select(StatusEvent).where(StatusEvent.delivery_id == ids[commune])).all()
        assert [(e.status, e.code) for e in events] == [("delivered", "01"), ("accepted", "03")]


def test_the_receipt_key_is_created_once_with_mode_0600(tmp_path):
    first = receipts.load_or_create_key(tmp_path / "k")
    assert (tmp_path / "k" / receipts.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert receipts.load_or_create_key(tmp_path / "k").kid == first.kid


def test_another_agency_cannot_ack_or_move_a_delivery(engine, services, key):
    w = world(engine)
    _, ids = _send(services, w, [w.all_communes[0]])
    delivery_id = ids[w.all_communes[0]]
    for caller in (caller_for(w, w.all_communes[1]), caller_for(w, "other_clerk"), caller_for(w, "clerk")):
        with pytest.raises(NotFound):
            deliveries.acknowledge(services, caller, delivery_id)
        with pytest.raises(NotFound):
            deliveries.change_status(services, caller, delivery_id, "accepted")


def test_status_moves_along_the_graph_and_anything_else_is_409_changing_nothing(engine, services, key):
    w = world(engine)
    commune = w.all_communes[0]
    _, ids = _send(services, w, [commune])
    me, did = caller_for(w, commune), ids[commune]

    def move(status, reason=None):  # type: ignore[no-untyped-def]
        return deliveries.change_status(services, me, did, status, reason)

    before = _snapshot(engine)
    with pytest.raises(Conflict):
        move("accepted")  # not yet delivered
    assert _snapshot(engine) == before
    deliveries.acknowledge(services, me, did)
    assert move("accepted") == {"id": did, "status": "accepted", "code": "03", "incoming_number": 1}
    before = _snapshot(engine)
    for bad in ("completed", "returned", "accepted"):
        with pytest.raises(Conflict):
            move(bad, "lý do")
    assert _snapshot(engine) == before
    assert move("assigned")["code"] == "04"
    assert move("processing")["code"] == "05"
    assert move("completed")["code"] == "06"


def test_returned_needs_a_reason_of_at_most_1000_characters(engine, services, key):
    w = world(engine)
    commune = w.all_communes[0]
    _, ids = _send(services, w, [commune])
    me, did = caller_for(w, commune), ids[commune]
    deliveries.acknowledge(services, me, did)
    before = _snapshot(engine)
    for reason in (None, "   ", "x" * 1001):
        with pytest.raises(Unprocessable) as info:
            deliveries.change_status(services, me, did, "returned", reason)
        assert "reason" in info.value.fields
    with pytest.raises(Unprocessable):
        deliveries.change_status(services, me, did, "recalled")
    assert _snapshot(engine) == before
    out = deliveries.change_status(services, me, did, "returned", "Gửi nhầm nơi nhận — " + "x" * 970)
    assert out["code"] == "02"


def test_recall_takes_back_unacked_at_once_and_asks_the_acked(engine, services, key):
    w = world(engine)
    a, b, c = w.all_communes[:3]
    doc, ids = _send(services, w, [a, b, c])
    deliveries.acknowledge(services, caller_for(w, a), ids[a])
    deliveries.acknowledge(services, caller_for(w, b), ids[b])
    out = deliveries.request_recall(services, caller_for(w, "clerk"), doc, "Sai trích yếu")
    by_id = {d["id"]: d for d in out["deliveries"]}
    assert by_id[ids[c]]["status"] == "recalled" and by_id[ids[c]]["code"] == "15"
    assert by_id[ids[a]]["status"] == by_id[ids[b]]["status"] == "recall_requested"
    assert deliveries.decide_recall(services, caller_for(w, a), ids[a], True)["code"] == "15"
    assert deliveries.decide_recall(services, caller_for(w, b), ids[b], False)["code"] == "16"
    before = _snapshot(engine)
    with pytest.raises(Conflict):
        deliveries.decide_recall(services, caller_for(w, a), ids[a], False)  # already decided
    with pytest.raises(Conflict):
        deliveries.change_status(services, caller_for(w, c), ids[c], "accepted")  # recalled
    assert _snapshot(engine) == before
    # after refusing, b goes on from where it was
    assert deliveries.change_status(services, caller_for(w, b), ids[b], "accepted")["status"] == "accepted"
    with session_scope(engine) as session:
        history = [e.status for e in session.exec(select(StatusEvent).where(StatusEvent.delivery_id == ids[c]))]
    assert history == ["recall_requested", "recalled"]


def test_only_the_sender_can_recall(engine, services, key):
    w = world(engine)
    doc, _ = _send(services, w, [w.all_communes[0]])
    for caller in (caller_for(w, "other_clerk"), caller_for(w, w.all_communes[0])):
        with pytest.raises(NotFound):
            deliveries.request_recall(services, caller, doc)


def test_receipt_json_is_stored_with_the_delivery(engine, services, key):
    w = world(engine)
    commune = w.all_communes[0]
    _, ids = _send(services, w, [commune])
    out = deliveries.acknowledge(services, caller_for(w, commune), ids[commune])
    with session_scope(engine) as session:
        stored = session.get(Delivery, ids[commune])
        assert json.loads(stored.receipt) == out["receipt"]
        assert stored.incoming_number is None and stored.incoming_year is None  # given at accepted (03)
