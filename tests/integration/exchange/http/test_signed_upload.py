"""An agency's system uploads a document it signed elsewhere and dispatches it (issue 10):
``POST /api/v1/documents`` with an agency token takes only a PDF with an intact, valid
signature over the whole file, which enters the lifecycle ``sealed``; an unsigned or
tampered file is 422 ``not_signed`` with nothing written; another agency's system can
neither read nor dispatch it; Idempotency-Key works as for clerks; the audit trail names
the system."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from exchange.models import AuditEvent
from tests.exchange_fixtures import build_world, make_pdf, snapshot
from tests.db import session_scope
from tests.signing_world import SigningWorld, issue_credentials, signed_pdf, signed_upload_body, tampered


@pytest.fixture
def w(app, engine, settings):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        world = build_world(session)
    issue_credentials(engine, settings, SigningWorld(world, {}), "signer")
    return world


@pytest.fixture
def pdf(client, w) -> bytes:  # type: ignore[no-untyped-def]
    return signed_pdf(client, w)


def test_a_system_uploads_a_signed_pdf_sealed_and_dispatches_it_to_the_inbox(client, engine, w, pdf):
    system = w.headers(w.province)
    commune = w.all_communes[0]
    r = client.post("/api/v1/documents", headers={**system, "Idempotency-Key": "up-1"}, **signed_upload_body(pdf))
    assert r.status_code == 201, r.get_json()
    doc = r.get_json()
    assert doc["state"] == "sealed" and r.headers["Location"] == f"/api/v1/documents/{doc['id']}"
    # the same key and body: the same document, replayed; nothing new
    again = client.post("/api/v1/documents", headers={**system, "Idempotency-Key": "up-1"}, **signed_upload_body(pdf))
    assert again.status_code == 201 and again.get_json()["id"] == doc["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"

    # another agency's system sees nothing of it and cannot send it
    other = w.headers(w.other_province)
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=other).status_code == 404
    stolen = client.post(f"/api/v1/documents/{doc['id']}/dispatches", json={"to": [commune]},
                         headers={**other, "Idempotency-Key": "steal"})
    assert stolen.status_code == 404, stolen.get_json()

    sent = client.post(f"/api/v1/documents/{doc['id']}/dispatches", json={"to": [commune]},
                       headers={**system, "Idempotency-Key": "send-1"})
    assert sent.status_code == 201, sent.get_json()
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=system).get_json()["state"] == "sent"
    inbox = client.get("/api/v1/inbox", headers=w.headers(commune)).get_json()["items"]
    assert [i["document"]["id"] for i in inbox] == [doc["id"]]
    download = client.get(f"/api/v1/documents/{doc['id']}/content", headers=w.headers(commune))
    assert download.status_code == 200 and download.data == pdf  # byte-identical: no server signature added

    # the system cannot send where a clerk of its agency may not (the same routing rules)
    outside = client.post(f"/api/v1/documents/{doc['id']}/dispatches", json={"to": ["999.99.99.Z99"]},
                          headers={**system, "Idempotency-Key": "send-2"})
    assert 400 <= outside.status_code < 500 and outside.status_code != 403, outside.get_json()

    with engine.connect() as conn:
        rows = conn.execute(sa.select(AuditEvent.actor, AuditEvent.action, AuditEvent.details)
                            .where(AuditEvent.object == f"document:{doc['id']}").order_by(AuditEvent.seq)).all()
    assert [(actor, action) for actor, action, _ in rows] == [
        (f"system:{w.province}", "document.upload"), (f"system:{w.province}", "document.dispatch")]
    details = json.loads(rows[0][2])
    assert details["signed_elsewhere"] is True and details["indication"] == "PASSED" and details["token_id"]


@pytest.mark.parametrize("kind", ["unsigned", "tampered", "drawn-on-after-signing"])
def test_an_unsigned_or_tampered_pdf_is_422_and_nothing_is_written(app, client, engine, w, pdf, kind):
    from tests.verify_fixtures import append_drawing

    data = {"unsigned": make_pdf("không ký"), "tampered": tampered(pdf),
            "drawn-on-after-signing": append_drawing(pdf)}[kind]
    before = snapshot(engine, app)
    r = client.post("/api/v1/documents", headers={**w.headers(w.province), "Idempotency-Key": f"bad-{kind}"},
                    **signed_upload_body(data))
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "not_signed" and "file" in error["fields"]
    assert snapshot(engine, app) == before


def test_a_clerk_upload_is_still_a_draft_and_a_system_cannot_sign(client, w, pdf):
    r = client.post("/api/v1/documents", headers=w.headers("clerk"), **signed_upload_body(pdf))
    assert r.status_code == 201 and r.get_json()["state"] == "draft"
    r = client.post(f"/api/v1/documents/{r.get_json()['id']}/signatures", headers=w.headers(w.province),
                    json={"profile": "seal"})
    assert r.status_code == 403
