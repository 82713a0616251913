"""A recall made before the recipient fetched the file leaves a tombstone in the recipient's
inbox (delivery id, seq, status): the cursor keeps its place, the subject and metadata are
gone. A recall after the recipient fetched it keeps the item as it was."""
from __future__ import annotations

import io
import json

from tests.db import store_from_app
from tests.exchange_fixtures import make_pdf
from tests.integration.exchange.delivery_support import sealed_document, world as make_world

SUBJECT = "V/v thử nghiệm liên thông"


def _send(app, client, w, key: str) -> int:  # type: ignore[no-untyped-def]
    pdf = make_pdf(f"văn bản {key}")
    store_from_app(app).put(io.BytesIO(pdf))  # the revision's file, for the recipient to fetch
    doc = sealed_document(app.extensions["lienthong.engine"], w, content=pdf)
    sent = client.post(f"/api/v1/documents/{doc}/dispatches", json={"to": [w.all_communes[0]]},
                       headers={**w.headers("clerk"), "Idempotency-Key": key})
    assert sent.status_code == 201, sent.get_json()
    return doc


def test_a_recall_before_the_fetch_leaves_only_a_tombstone(app, client, engine):
    w = make_world(engine)
    recipient = w.headers(w.all_communes[0])
    unseen, fetched = _send(app, client, w, "a"), _send(app, client, w, "b")
    assert client.get(f"/api/v1/documents/{fetched}/content", headers=recipient).data  # fetched: read whole
    for doc in (unseen, fetched):
        recall = client.post(f"/api/v1/documents/{doc}/recall", json={"reason": "gửi nhầm"},
                             headers=w.headers("clerk"))
        assert recall.status_code == 200, recall.get_json()
    page = client.get("/api/v1/inbox", headers=recipient).get_json()
    tombstone, kept = page["items"]
    assert tombstone.keys() == {"delivery_id", "seq", "status", "code"}
    assert tombstone["status"] == "recalled" and tombstone["code"] == "15"
    assert SUBJECT not in json.dumps(tombstone, ensure_ascii=False)
    assert kept["status"] == "recalled" and kept["document"]["subject"] == SUBJECT  # it was fetched: nothing to hide
    assert page["next_cursor"] == str(kept["seq"])
    # the sender still sees its own document whole
    assert client.get(f"/api/v1/documents/{unseen}", headers=w.headers("clerk")).get_json()["subject"] == SUBJECT
