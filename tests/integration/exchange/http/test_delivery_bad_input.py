"""Bad input to the delivery endpoints: a 4xx with field messages, and nothing changed —
every row of every table and every blob compared before and after each refused request."""
from __future__ import annotations

import pytest

from tests.db import engine_from_app
from tests.exchange_fixtures import snapshot
from tests.integration.exchange.delivery_support import sealed_document, world


@pytest.fixture
def setup(app, client):  # type: ignore[no-untyped-def]
    engine = engine_from_app(app)
    w = world(engine)
    doc = sealed_document(engine, w)
    a = w.all_communes[0]
    r = client.post(f"/api/v1/documents/{doc}/dispatches", json={"to": [a, w.districts[1]]},
                    headers={**w.headers("clerk"), "Idempotency-Key": "first"})
    ids = {d["recipient"]: d["id"] for d in r.json["deliveries"]}
    client.post(f"/api/v1/inbox/{ids[a]}/ack", headers=w.headers(a))
    draft = sealed_document(engine, w, state="draft")
    return w, doc, draft, ids


CASES = {
    # name: (method, path template, who, json body, extra headers, status, field or None)
    "to not a list": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"to": "000.01.01.H62"}, {"Idempotency-Key": "n"}, 422, "to"),
    "to numbers": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"to": [1]}, {"Idempotency-Key": "n"}, 422, "to.0"),
    "unknown code": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"to": ["000.77.01.H62"]}, {"Idempotency-Key": "n"}, 422, "to"),
    "some unknown": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"to": ["000.02.01.H62", "000.77.01.H62"]}, {"Idempotency-Key": "n"}, 422, "to"),
    "unknown parent": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"children_of": "000.00.77.H62"}, {"Idempotency-Key": "n"}, 422, "children_of"),
    "bad level": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"children_of": "000.00.01.H62", "level": 3}, {"Idempotency-Key": "n"}, 422, "level"),
    "no recipients": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {}, {"Idempotency-Key": "n"}, 422, "to"),
    "no key": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"to": ["000.02.01.H62"]}, {}, 422, "Idempotency-Key"),
    "key reused": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", {"to": ["000.02.01.H62"]}, {"Idempotency-Key": "first"}, 409, None),
    "not sealed": ("post", "/api/v1/documents/{draft}/dispatches", "clerk", {"to": ["000.02.01.H62"]}, {"Idempotency-Key": "n"}, 409, None),
    "body not json": ("post", "/api/v1/documents/{doc}/dispatches", "clerk", "not json", {"Idempotency-Key": "n"}, 400, None),
    "status unknown": ("post", "/api/v1/inbox/{acked}/status", "000.01.01.H62", {"status": "done"}, {}, 422, "status"),
    "status skips": ("post", "/api/v1/inbox/{acked}/status", "000.01.01.H62", {"status": "completed"}, {}, 409, None),
    "returned without reason": ("post", "/api/v1/inbox/{acked}/status", "000.01.01.H62", {"status": "returned"}, {}, 422, "reason"),
    "reason too long": ("post", "/api/v1/inbox/{acked}/status", "000.01.01.H62", {"status": "returned", "reason": "x" * 1001}, {}, 422, "reason"),
    "status before ack": ("post", "/api/v1/inbox/{queued}/status", "000.00.02.H62", {"status": "accepted"}, {}, 409, None),
    "decision without recall": ("post", "/api/v1/inbox/{acked}/recall-decision", "000.01.01.H62", {"accept": True}, {}, 409, None),
    "decision not bool": ("post", "/api/v1/inbox/{acked}/recall-decision", "000.01.01.H62", {"accept": "yes please"}, {}, 422, "accept"),
    "forward to unknown": ("post", "/api/v1/inbox/{queued}/forward", "000.00.02.H62", {"to": ["000.77.02.H62"]}, {"Idempotency-Key": "f"}, 422, "to"),
    "forward to itself": ("post", "/api/v1/inbox/{queued}/forward", "000.00.02.H62", {"to": ["000.00.02.H62"]}, {"Idempotency-Key": "f"}, 422, "to"),
    "recall reason too long": ("post", "/api/v1/documents/{doc}/recall", "clerk", {"reason": "x" * 1001}, {}, 422, "reason"),
    "recall unknown doc": ("post", "/api/v1/documents/987654/recall", "clerk", {}, {}, 404, None),
    "ack unknown": ("post", "/api/v1/inbox/987654/ack", "000.01.01.H62", None, {}, 404, None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_and_nothing_changed(app, client, setup, name):
    w, doc, draft, ids = setup
    method, path, who, body, headers, status, field = CASES[name]
    url = path.format(doc=doc, draft=draft, acked=ids[w.all_communes[0]], queued=ids[w.districts[1]])
    engine = engine_from_app(app)
    before = snapshot(engine, app)
    kwargs = {"json": body} if isinstance(body, (dict, list)) else ({"data": body, "content_type": "application/json"}
                                                                    if body is not None else {})
    r = getattr(client, method)(url, headers={**w.headers(who), **headers}, **kwargs)
    assert r.status_code == status, r.get_json()
    assert set(r.get_json()) == {"error"}
    if field:
        assert field in r.get_json()["error"]["fields"], r.get_json()
    assert snapshot(engine, app) == before
