"""Forwarding down the tree (chuyển tiếp) and the sender's view of every hop."""
from __future__ import annotations

import json
import pytest
from sqlmodel import select

from errors import Conflict, NotFound
from exchange.services import delivery as deliveries
from exchange.services import receipts
from exchange.services.dispatch import Recipients, dispatch_document, forward_delivery
from exchange.services.tracking import document_deliveries
from exchange.models import Delivery, Dispatch
from tests.db import session_scope
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import sealed_document, world


def _province_to_district(services, w):  # type: ignore[no-untyped-def]
    doc = sealed_document(services.engine, w)
    district = w.districts[0]
    view, _ = dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=(district, w.districts[1])), "k")
    incoming = {d["recipient"]: d["id"] for d in view["deliveries"]}[district]
    return doc, district, incoming


def test_a_district_forwards_to_its_communes_same_bytes_and_one_more_hop(engine, services):
    w = world(engine)
    doc, district, incoming = _province_to_district(services, w)
    view, created = forward_delivery(services, caller_for(w, "district_clerk"), incoming,
                                     Recipients(children_of=district, level="commune"), "fwd-1")
    assert created and view["forwarded_from"] == incoming
    assert sorted(d["recipient"] for d in view["deliveries"]) == sorted(w.communes[district])
    with session_scope(engine) as session:
        original = session.get(Dispatch, session.get(Delivery, incoming).dispatch_id)
        forwarded = session.get(Dispatch, view["id"])
        assert forwarded.revision_id == original.revision_id  # the very same file
        row = session.exec(select(Delivery).where(Delivery.dispatch_id == view["id"])).first()
    assert [hop["agency"] for hop in json.loads(row.trace)] == [w.province, district]
    again, created_again = forward_delivery(services, caller_for(w, district), incoming,
                                            Recipients(children_of=district, level="commune"), "fwd-1")
    assert again == view and not created_again
    # the province sees both hops; the district sees its own forward only
    seen = document_deliveries_of(services, caller_for(w, "clerk"), doc)
    assert sorted((d["recipient"], d["hop"]) for d in seen) == sorted(
        [(district, 1), (w.districts[1], 1)] + [(c, 2) for c in w.communes[district]])
    assert all(d["sender"] == district for d in seen if d["hop"] == 2)
    mine = document_deliveries_of(services, caller_for(w, "district_clerk"), doc)
    assert sorted(d["recipient"] for d in mine) == sorted(w.communes[district])


def document_deliveries_of(services, caller, doc):  # type: ignore[no-untyped-def]
    return document_deliveries(services, caller, doc)["deliveries"]


def test_the_sender_sees_each_recipients_status_and_history(engine, services, tmp_path):
    w = world(engine)
    doc = sealed_document(engine, w)
    a, b = w.all_communes[:2]
    view, _ = dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=(a, b)), "k")
    ids = {d["recipient"]: d["id"] for d in view["deliveries"]}
    receipts.load_or_create_key(tmp_path)
    deliveries.acknowledge(services, caller_for(w, a), ids[a])
    deliveries.change_status(services, caller_for(w, a), ids[a], "accepted")
    seen = {d["recipient"]: d for d in document_deliveries_of(services, caller_for(w, "clerk"), doc)}
    assert (seen[a]["status"], seen[a]["code"]) == ("accepted", "03")
    assert [(h["status"], h["code"]) for h in seen[a]["history"]] == [("queued", None), ("delivered", "01"),
                                                                      ("accepted", "03")]
    assert seen[a]["incoming_number"] == 1 and seen[b]["status"] == "queued"
    for outsider in (caller_for(w, "other_clerk"), caller_for(w, a)):
        with pytest.raises(NotFound):
            document_deliveries_of(services, outsider, doc)


def test_only_the_recipient_forwards_and_not_a_returned_delivery(engine, services, tmp_path):
    w = world(engine)
    _, district, incoming = _province_to_district(services, w)
    for outsider in (caller_for(w, "clerk"), caller_for(w, w.districts[1]), caller_for(w, "other_clerk")):
        with pytest.raises(NotFound):
            forward_delivery(services, outsider, incoming, Recipients(children_of=district), "x")
    receipts.load_or_create_key(tmp_path)
    deliveries.acknowledge(services, caller_for(w, district), incoming)
    deliveries.change_status(services, caller_for(w, district), incoming, "returned", "Không thuộc thẩm quyền")
    with pytest.raises(Conflict):
        forward_delivery(services, caller_for(w, district), incoming, Recipients(children_of=district), "y")


def _statuses(engine, ids):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return {i: session.get(Delivery, i).status for i in ids}


def test_a_recall_reaches_the_copies_a_district_forwarded(engine, services, tmp_path):
    """Province recalls; the district (acked) accepts; its unacked commune copy is recalled at
    once, the acked one is asked and recalled when it accepts."""
    w = world(engine)
    receipts.load_or_create_key(tmp_path)
    doc, district, incoming = _province_to_district(services, w)
    deliveries.acknowledge(services, caller_for(w, district), incoming)
    view, _ = forward_delivery(services, caller_for(w, district), incoming,
                               Recipients(to=tuple(w.communes[district][:2])), "fwd")
    copies = {d["recipient"]: d["id"] for d in view["deliveries"]}
    acked_commune, silent_commune = w.communes[district][:2]
    deliveries.acknowledge(services, caller_for(w, acked_commune), copies[acked_commune])

    deliveries.request_recall(services, caller_for(w, "clerk"), doc, "sai số liệu")
    # the district acked: it decides first; nothing below it moved yet
    assert _statuses(engine, [incoming, *copies.values()]) == {
        incoming: "recall_requested", copies[acked_commune]: "delivered", copies[silent_commune]: "queued"}

    deliveries.decide_recall(services, caller_for(w, district), incoming, True)
    assert _statuses(engine, copies.values()) == {
        copies[acked_commune]: "recall_requested", copies[silent_commune]: "recalled"}

    deliveries.decide_recall(services, caller_for(w, acked_commune), copies[acked_commune], True)
    assert _statuses(engine, copies.values()) == {copies[acked_commune]: "recalled", copies[silent_commune]: "recalled"}


def test_a_refused_recall_leaves_the_forwarded_copies_alone(engine, services, tmp_path):
    w = world(engine)
    receipts.load_or_create_key(tmp_path)
    doc, district, incoming = _province_to_district(services, w)
    deliveries.acknowledge(services, caller_for(w, district), incoming)
    view, _ = forward_delivery(services, caller_for(w, district), incoming,
                               Recipients(to=(w.communes[district][0],)), "fwd")
    (copy,) = [d["id"] for d in view["deliveries"]]
    deliveries.request_recall(services, caller_for(w, "clerk"), doc, "")
    deliveries.decide_recall(services, caller_for(w, district), incoming, False)
    assert _statuses(engine, [incoming, copy]) == {incoming: "recall_refused", copy: "queued"}


def test_recalling_an_unacknowledged_district_copy_takes_back_its_forwards_at_once(engine, services):
    w = world(engine)
    doc, district, incoming = _province_to_district(services, w)
    view, _ = forward_delivery(services, caller_for(w, district), incoming,
                               Recipients(children_of=district, level="commune"), "fwd")
    copies = [d["id"] for d in view["deliveries"]]
    result = deliveries.request_recall(services, caller_for(w, "clerk"), doc, "")
    assert set(_statuses(engine, [incoming, *copies]).values()) == {"recalled"}
    assert set(copies) <= {d["id"] for d in result["deliveries"]}
