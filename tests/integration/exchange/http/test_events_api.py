"""GET /api/v1/events over the WSGI test client: JSON names, the cursor, 422s, who may call;
and the inbox items' status history."""
from __future__ import annotations

import pytest

from tests.db import engine_from_app
from tests.integration.exchange.delivery_support import sealed_document, world


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


def _dispatch(client, w, doc, to):  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/documents/{doc}/dispatches", json={"to": to},
                    headers={**w.headers("clerk"), "Idempotency-Key": f"k{doc}"})
    assert r.status_code == 201, r.json
    return {d["recipient"]: d["id"] for d in r.json["deliveries"]}


def test_each_side_reads_its_events_with_a_cursor_and_the_inbox_shows_the_history(app, client, w):
    a = w.all_communes[0]
    doc = sealed_document(engine_from_app(app), w)
    delivery = _dispatch(client, w, doc, [a])[a]
    assert client.post(f"/api/v1/inbox/{delivery}/ack", headers=w.headers(a)).status_code == 200
    r = client.post(f"/api/v1/inbox/{delivery}/status", json={"status": "returned", "reason": "Sai thể thức"},
                    headers=w.headers(a))
    assert r.status_code == 200, r.json

    mine = client.get("/api/v1/events?limit=100", headers=w.headers(a))
    assert mine.status_code == 200 and set(mine.json) == {"items", "next_cursor"}
    [created] = mine.json["items"]
    assert set(created) == {"id", "seq", "kind", "at", "delivery_id", "document_id", "data"}
    assert (created["kind"], created["seq"], created["delivery_id"], created["document_id"]) == \
        ("delivery.created", 1, delivery, doc)
    assert mine.json["next_cursor"] == "1"
    # the clerk (a user with the role) reads the province's side
    sent = client.get("/api/v1/events", headers=w.headers("clerk")).json["items"]
    assert [(e["kind"], e["data"].get("code")) for e in sent] == [("delivery.acked", None), ("delivery.status", "02")]
    assert sent[1]["data"]["reason"] == "Sai thể thức"
    after = client.get(f"/api/v1/events?after={sent[0]['seq']}", headers=w.headers(w.province)).json
    assert [e["seq"] for e in after["items"]] == [2] and after["next_cursor"] == "2"
    empty = client.get("/api/v1/events?after=2&wait=0.1", headers=w.headers(w.province))
    assert empty.json == {"items": [], "next_cursor": "2"}
    for stranger in (w.other_province, w.all_communes[1], "other_clerk"):
        assert client.get("/api/v1/events", headers=w.headers(stranger)).json["items"] == []

    [item] = client.get("/api/v1/inbox", headers=w.headers(a)).json["items"]
    assert [(s["status"], s["code"]) for s in item["history"]] == [("delivered", "01"), ("returned", "02")]
    assert item["history"][1]["reason"] == "Sai thể thức" and set(item["history"][0]) == {"status", "code", "at"}


@pytest.mark.parametrize("query, field", [("after=abc", "after"), ("after=" + "9" * 19, "after"),
                                          ("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"),
                                          ("wait=61", "wait"), ("wait=-1", "wait"), ("since=3", "since")])
def test_bad_query_values_are_422_with_the_error_shape(client, w, query, field):
    r = client.get(f"/api/v1/events?{query}", headers=w.headers(w.all_communes[0]))
    assert r.status_code == 422, r.json
    assert set(r.json) == {"error"} and {"code", "message"} <= set(r.json["error"])
    assert field in str(r.json["error"])


def test_no_token_is_401_and_a_user_without_the_role_403(client, w):
    assert client.get("/api/v1/events").status_code == 401
    r = client.get("/api/v1/events", headers=w.headers("signer"))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
