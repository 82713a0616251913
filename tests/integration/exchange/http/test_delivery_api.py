"""The delivery endpoints over the WSGI test client: JSON names, status codes, error shapes."""
from __future__ import annotations

import pytest

from exchange.services import receipts
from tests.db import engine_from_app
from tests.exchange_fixtures import auth
from tests.integration.exchange.delivery_support import sealed_document, world


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


def _dispatch(client, w, doc, body, key="k1", who="clerk"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc}/dispatches", json=body,
                       headers={**w.headers(who), "Idempotency-Key": key})


def test_dispatch_inbox_ack_status_and_the_sender_view(app, client, w):
    doc = sealed_document(engine_from_app(app), w)
    a, b, c = w.all_communes[:3]
    r = _dispatch(client, w, doc, {"to": [a, b, c]})
    assert r.status_code == 201, r.json
    assert set(r.json) >= {"id", "deliveries"}
    assert {d["recipient"] for d in r.json["deliveries"]} == {a, b, c}
    assert all(set(d) >= {"id", "recipient", "status"} for d in r.json["deliveries"])
    again = _dispatch(client, w, doc, {"to": [a, b, c]})
    assert again.status_code == 200 and again.json == r.json
    clash = _dispatch(client, w, doc, {"to": [a]})
    assert clash.status_code == 409 and clash.json["error"]["code"] == "idempotency_conflict"

    page = client.get("/api/v1/inbox?limit=50", headers=w.headers(a))
    assert page.status_code == 200
    assert set(page.json) == {"items", "next_cursor"}
    item = page.json["items"][0]
    assert set(item) >= {"delivery_id", "document", "sender", "status", "content_url"}
    assert item["document"]["id"] == doc and len(item["document"]["sha256"]) == 64
    assert item["sender"] == w.province and item["status"] == "queued"
    empty = client.get(f"/api/v1/inbox?after={page.json['next_cursor']}&wait=0", headers=w.headers(a))
    assert empty.json == {"items": [], "next_cursor": page.json["next_cursor"]}

    did = item["delivery_id"]
    ack = client.post(f"/api/v1/inbox/{did}/ack", headers=w.headers(a))
    assert ack.status_code == 200, ack.json
    assert ack.json["code"] == "01" and "incoming_number" not in ack.json  # the số đến comes at 03
    key = client.get("/api/v1/receipts/key").json
    assert key["alg"] == "ES256" and key["jwk"]["kid"] == key["kid"]
    assert receipts.verify(ack.json["receipt"], app.extensions["lienthong.services"].receipt_key.public)
    assert client.post(f"/api/v1/inbox/{did}/ack", headers=w.headers(a)).json["receipt"] == ack.json["receipt"]

    moved = client.post(f"/api/v1/inbox/{did}/status", json={"status": "accepted"}, headers=w.headers(a))
    assert moved.status_code == 200 and moved.json == {"id": did, "status": "accepted", "code": "03",
                                                       "incoming_number": 1}
    refused = client.post(f"/api/v1/inbox/{did}/status", json={"status": "completed"}, headers=w.headers(a))
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_transition"

    seen = client.get(f"/api/v1/documents/{doc}/deliveries", headers=w.headers("clerk"))
    assert seen.status_code == 200
    by_recipient = {d["recipient"]: d for d in seen.json["deliveries"]}
    assert (by_recipient[a]["status"], by_recipient[a]["code"]) == ("accepted", "03")
    assert [h["code"] for h in by_recipient[a]["history"]] == [None, "01", "03"]
    assert all(set(d) >= {"id", "recipient", "status", "code", "history"} for d in seen.json["deliveries"])

    recall = client.post(f"/api/v1/documents/{doc}/recall", json={"reason": "Sai sót"}, headers=w.headers("clerk"))
    assert recall.status_code == 200
    statuses = {d["id"]: d["status"] for d in recall.json["deliveries"]}
    assert statuses[did] == "recall_requested" and list(statuses.values()).count("recalled") == 2
    decided = client.post(f"/api/v1/inbox/{did}/recall-decision", json={"accept": False}, headers=w.headers(a))
    assert decided.json == {"id": did, "status": "recall_refused", "code": "16"}


def test_forward_over_http_and_the_province_sees_both_hops(app, client, w):
    doc = sealed_document(engine_from_app(app), w)
    district = w.districts[1]
    r = _dispatch(client, w, doc, {"to": [district]})
    incoming = r.json["deliveries"][0]["id"]
    fwd = client.post(f"/api/v1/inbox/{incoming}/forward", json={"children_of": district, "level": "commune"},
                      headers={**w.headers(district), "Idempotency-Key": "fwd"})
    assert fwd.status_code == 201, fwd.json
    assert fwd.json["forwarded_from"] == incoming
    seen = client.get(f"/api/v1/documents/{doc}/deliveries", headers=w.headers("clerk")).json["deliveries"]
    assert sorted((d["recipient"], d["hop"]) for d in seen) == sorted(
        [(district, 1)] + [(c, 2) for c in w.communes[district]])


@pytest.mark.parametrize("body, headers, field", [
    ({"to": "000.01.01.H62"}, {"Idempotency-Key": "k"}, "to"),
    ({"to": [1, 2]}, {"Idempotency-Key": "k"}, "to.0"),
    ({"to": ["000.99.99.H62"]}, {"Idempotency-Key": "k"}, "to"),
    ({"children_of": "000.00.00.H62", "level": "xóm"}, {"Idempotency-Key": "k"}, "level"),
    ({"to": ["000.01.01.H62"], "cc": []}, {"Idempotency-Key": "k"}, "cc"),
    ({"to": ["000.01.01.H62"]}, {}, "Idempotency-Key"),
    ({"to": ["000.01.01.H62"]}, {"Idempotency-Key": "k" * 201}, "Idempotency-Key"),
])
def test_bad_dispatch_input_is_422_per_field(app, client, w, body, headers, field):
    doc = sealed_document(engine_from_app(app), w)
    r = client.post(f"/api/v1/documents/{doc}/dispatches", json=body, headers={**w.headers("clerk"), **headers})
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"], r.json


@pytest.mark.parametrize("query, field", [("wait=61", "wait"), ("wait=abc", "wait"), ("limit=0", "limit"),
                                          ("after=xyz", "after")])
def test_bad_inbox_queries_are_422(client, w, query, field):
    r = client.get(f"/api/v1/inbox?{query}", headers=w.headers(w.all_communes[0]))
    assert r.status_code == 422 and field in r.json["error"]["fields"], r.json


def test_status_body_errors(app, client, w):
    doc = sealed_document(engine_from_app(app), w)
    a = w.all_communes[0]
    did = _dispatch(client, w, doc, {"to": [a]}).json["deliveries"][0]["id"]
    client.post(f"/api/v1/inbox/{did}/ack", headers=w.headers(a))
    for body, code, field in [({"status": "returned"}, 422, "reason"), ({"status": "nope"}, 422, "status"),
                              ({"status": "returned", "reason": "x" * 1001}, 422, "reason"), ({}, 422, "status")]:
        r = client.post(f"/api/v1/inbox/{did}/status", json=body, headers=w.headers(a))
        assert r.status_code == code and field in r.json["error"]["fields"], (body, r.json)
    bad = client.post(f"/api/v1/inbox/{did}/recall-decision", json={"accept": "perhaps"}, headers=w.headers(a))
    assert bad.status_code == 422


def test_refusals_401_403_404(app, client, w):
    doc = sealed_document(engine_from_app(app), w)
    a = w.all_communes[0]
    did = _dispatch(client, w, doc, {"to": [a]}).json["deliveries"][0]["id"]
    endpoints = [("post", f"/api/v1/documents/{doc}/dispatches", {"to": [a]}),
                 ("get", f"/api/v1/documents/{doc}/deliveries", None),
                 ("post", f"/api/v1/documents/{doc}/recall", {}),
                 ("get", "/api/v1/inbox", None),
                 ("post", f"/api/v1/inbox/{did}/ack", None),
                 ("post", f"/api/v1/inbox/{did}/status", {"status": "accepted"}),
                 ("post", f"/api/v1/inbox/{did}/recall-decision", {"accept": True}),
                 ("post", f"/api/v1/inbox/{did}/forward", {"to": [w.all_communes[1]]})]
    for method, url, body in endpoints:
        kw = {"json": body} if body is not None else {}
        assert getattr(client, method)(url, headers={"Idempotency-Key": "z"}, **kw).status_code == 401
        revoked = {**auth(w.revoked_token), "Idempotency-Key": "z"}
        assert getattr(client, method)(url, headers=revoked, **kw).status_code == 401
        assert getattr(client, method)(url, headers={**w.headers("norole"), "Idempotency-Key": "z"}, **kw).status_code == 403
        if "/inbox/" in url:  # another agency's delivery does not exist for the caller
            for other in ("other_clerk", w.all_communes[1], "clerk"):
                r = getattr(client, method)(url, headers={**w.headers(other), "Idempotency-Key": "z"}, **kw)
                assert r.status_code == 404, (url, other, r.json)
        elif "/documents/" in url:
            r = getattr(client, method)(url, headers={**w.headers("other_clerk"), "Idempotency-Key": "z"}, **kw)
            assert r.status_code == 404, (url, r.json)
