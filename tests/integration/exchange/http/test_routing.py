"""Forwarding stays inside the forwarder's subtree (422 ``outside_subtree``, nothing changed),
and no recipient is sent a second live copy of a document (``already_delivered``)."""
from __future__ import annotations

import pytest

from exchange.services import receipts
from tests.db import engine_from_app
from tests.exchange_fixtures import snapshot
from tests.integration.exchange.delivery_support import sealed_document, world


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


def _dispatch(client, w, doc, body, key, who="clerk"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc}/dispatches", json=body,
                       headers={**w.headers(who), "Idempotency-Key": key})


def _forward(client, who, delivery, body, key):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/inbox/{delivery}/forward", json=body, headers={**who, "Idempotency-Key": key})


def _recipients(response) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(d["recipient"] for d in response.json["deliveries"])


def test_forward_up_or_sideways_is_422_outside_subtree_and_changes_nothing(app, client, w):
    engine = engine_from_app(app)
    doc = sealed_document(engine, w)
    district, neighbour = w.districts
    sent = _dispatch(client, w, doc, {"to": [district]}, "k1")
    incoming = sent.json["deliveries"][0]["id"]
    mine, theirs = w.communes[district][0], w.communes[neighbour][0]
    refused_bodies = [
        {"to": [w.province]},  # up
        {"to": [neighbour]},  # sideways
        {"to": [theirs]},  # the neighbour's commune
        {"to": [w.other_province]},  # another province
        {"children_of": neighbour},
        {"children_of": w.province, "level": "commune"},  # reaches communes outside too
        {"to": [mine, theirs]},  # one outside is enough
    ]
    before = snapshot(engine, app)
    for n, body in enumerate(refused_bodies):
        r = _forward(client, w.headers(district), incoming, body, f"f{n}")
        assert r.status_code == 422, (body, r.json)
        assert r.json["error"]["code"] == "outside_subtree", body
        assert mine not in r.json["error"]["fields"]["to"]
    assert snapshot(engine, app) == before
    # inside the subtree it goes
    ok = _forward(client, w.headers(district), incoming, {"to": [mine]}, "f-ok")
    assert ok.status_code == 201 and _recipients(ok) == [mine]


def test_a_recipient_holding_a_live_copy_is_not_sent_another(app, client, w, tmp_path):
    engine = engine_from_app(app)
    doc = sealed_document(engine, w)
    district = w.districts[0]
    c1, c2, c3 = w.communes[district]
    c4 = w.communes[w.districts[1]][0]
    # a first dispatch naming an agency twice sends it once and says so
    first = _dispatch(client, w, doc, {"to": [c1, district, c1]}, "k1")
    assert first.status_code == 201 and _recipients(first) == sorted([c1, district])
    assert first.json["already_delivered"] == [c1]
    assert _dispatch(client, w, doc, {"to": [c1, district, c1]}, "k1").json == first.json  # replay: same answer
    # the district forwards to its communes: c1 holds the province's copy already
    incoming = {d["recipient"]: d["id"] for d in first.json["deliveries"]}[district]
    fwd = _forward(client, w.headers(district), incoming, {"children_of": district}, "f1")
    assert fwd.status_code == 201 and _recipients(fwd) == sorted([c2, c3])
    assert fwd.json["already_delivered"] == [c1]
    # the province again: only c4 is new; c2 and c3 hold the district's copy
    again = _dispatch(client, w, doc, {"to": [c1, c2, c3, c4]}, "k2")
    assert _recipients(again) == [c4] and again.json["already_delivered"] == [c1, c2, c3]
    # everyone holds it: a dispatch with no delivery, still answering its key
    none = _dispatch(client, w, doc, {"to": [c4]}, "k3")
    assert none.status_code == 201 and none.json["deliveries"] == [] and none.json["already_delivered"] == [c4]
    assert len(client.get("/api/v1/inbox", headers=w.headers(c4)).json["items"]) == 1
    # a returned copy is no longer held: it may be sent again
    receipts.load_or_create_key(tmp_path)
    c4_delivery = again.json["deliveries"][0]["id"]
    assert client.post(f"/api/v1/inbox/{c4_delivery}/ack", headers=w.headers(c4)).status_code == 200
    returned = client.post(f"/api/v1/inbox/{c4_delivery}/status", headers=w.headers(c4),
                           json={"status": "returned", "reason": "Gửi nhầm đơn vị"})
    assert returned.status_code == 200
    resent = _dispatch(client, w, doc, {"to": [c4]}, "k4")
    assert _recipients(resent) == [c4] and resent.json["already_delivered"] == []


def test_a_merged_agencys_old_code_beside_its_successor_is_sent_once(app, client, w):
    from datetime import date

    from exchange.services import directory
    from tests.db import session_scope
    from tests.integration.exchange.delivery_support import add_agency

    engine = engine_from_app(app)
    successor = w.communes[w.districts[0]][0]
    with session_scope(engine, write=True) as session:
        add_agency(session, "000.09.01.H62", w.districts[0], valid_from=date(2020, 1, 1))
        directory.merge(session, "000.09.01.H62", successor, date(2025, 7, 1))
    doc = sealed_document(engine, w)
    sent = _dispatch(client, w, doc, {"to": ["000.09.01.H62", successor]}, "k1")
    assert sent.status_code == 201, sent.json
    assert [(d["recipient"], d.get("addressed_to")) for d in sent.json["deliveries"]] == [(successor, "000.09.01.H62")]
    assert sent.json["already_delivered"] == [successor]
