"""Documents over HTTP: upload, read, list, content; another agency sees nothing."""
from __future__ import annotations

import hashlib

import pytest

from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, build_world, make_pdf, upload_via_api


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def test_upload_then_read_back(client, world):
    pdf = make_pdf("Kế hoạch số 12")
    r = upload_via_api(client, world.headers("clerk"), pdf, {"urgency": "flash", "due_on": "2026-12-31"})
    assert r.status_code == 201, r.json
    doc = r.json
    assert r.headers["Location"] == f"/api/v1/documents/{doc['id']}"
    assert doc["issuer"] == world.province and doc["state"] == "draft" and doc["urgency"] == "flash"
    assert doc["subject"] == DOCUMENT_METADATA["subject"] and doc["due_on"] == "2026-12-31"
    assert doc["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert [(v["seq"], v["kind"], v["size"]) for v in doc["revisions"]] == [(1, "original", len(pdf))]

    got = client.get(f"/api/v1/documents/{doc['id']}", headers=world.headers("signer"))
    assert got.status_code == 200 and got.json == doc

    content = client.get(f"/api/v1/documents/{doc['id']}/content", headers=world.headers("auditor"))
    assert content.status_code == 200 and content.mimetype == "application/pdf"
    assert content.data == pdf and content.headers["ETag"] == f'"{doc["sha256"]}"'
    again = client.get(f"/api/v1/documents/{doc['id']}/content?revision=1", headers={
        **world.headers("clerk"), "If-None-Match": f'"{doc["sha256"]}"'})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"/api/v1/documents/{doc['id']}/content?revision=2",
                      headers=world.headers("clerk")).status_code == 404


def test_the_upload_is_audited(client, world):
    r = upload_via_api(client, world.headers("clerk"))
    events = client.get("/api/v1/audit?limit=1000", headers=world.headers("auditor")).json["items"]
    upload = [e for e in events if e["action"] == "document.upload"]
    assert len(upload) == 1 and upload[0]["object"] == f"document:{r.json['id']}"
    assert upload[0]["actor"] == "vanthu.tinh" and upload[0]["details"]["sha256"] == r.json["sha256"]


def test_another_agency_cannot_tell_a_document_exists(client, world):
    doc_id = upload_via_api(client, world.headers("clerk")).json["id"]
    for path in (f"/api/v1/documents/{doc_id}", f"/api/v1/documents/{doc_id}/content",
                 f"/api/v1/documents/{doc_id + 1000}"):
        r = client.get(path, headers=world.headers("other_clerk"))
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    # a district below the province is another agency too
    assert client.get(f"/api/v1/documents/{doc_id}", headers=world.headers("district_clerk")).status_code == 404
    assert client.get("/api/v1/documents", headers=world.headers("other_clerk")).json["items"] == []


def test_list_pages_and_filters(client, world):
    ids = [upload_via_api(client, world.headers("clerk"), make_pdf(f"doc {i}")).json["id"] for i in range(3)]
    first = client.get("/api/v1/documents?limit=2", headers=world.headers("clerk")).json
    assert [d["id"] for d in first["items"]] == ids[:2] and first["next_cursor"] == ids[1]
    rest = client.get(f"/api/v1/documents?after={first['next_cursor']}", headers=world.headers("clerk")).json
    assert [d["id"] for d in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    assert client.get("/api/v1/documents?state=sent", headers=world.headers("clerk")).json["items"] == []
    assert client.get("/api/v1/documents?state=lost", headers=world.headers("clerk")).status_code == 422


def test_reply_to_must_be_a_readable_document(client, world):
    mine = upload_via_api(client, world.headers("clerk")).json["id"]
    theirs = upload_via_api(client, world.headers("other_clerk")).json["id"]
    ok = upload_via_api(client, world.headers("clerk"), make_pdf("reply"), {"reply_to": mine})
    assert ok.status_code == 201 and ok.json["reply_to"] == mine
    bad = upload_via_api(client, world.headers("clerk"), make_pdf("reply 2"), {"reply_to": theirs})
    assert bad.status_code == 422 and "metadata.reply_to" in bad.json["error"]["fields"]


def test_the_same_file_twice_is_stored_once(client, world, app):
    pdf = make_pdf("một lần")
    a = upload_via_api(client, world.headers("clerk"), pdf).json
    b = upload_via_api(client, world.headers("clerk"), pdf).json
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"]
    blobs = [p for p in (app.extensions["lienthong.settings"].blob_dir / "sha256").rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_session_cookie_works_for_documents(client, world):
    login = client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": world.password})
    assert login.status_code == 200
    assert upload_via_api(client, {}).status_code == 400  # a change through the cookie needs its CSRF token
    r = upload_via_api(client, {"X-CSRFToken": login.json["csrf_token"]})
    assert r.status_code == 201
    assert client.get(f"/api/v1/documents/{r.json['id']}").status_code == 200
    assert client.delete("/api/v1/session").status_code == 204
    assert client.get(f"/api/v1/documents/{r.json['id']}").status_code == 401


def test_verification_of_a_stored_document(client, world):
    doc_id = upload_via_api(client, world.headers("clerk")).json["id"]
    report = client.get(f"/api/v1/documents/{doc_id}/verification", headers=world.headers("auditor"))
    assert report.status_code == 200 and report.json["indication"] == "NO_SIGNATURE"
    assert report.json["sha256"] == client.get(f"/api/v1/documents/{doc_id}", headers=world.headers("auditor")).json["sha256"]
    page = client.get(f"/api/v1/documents/{doc_id}/verification?format=html", headers=world.headers("auditor"))
    assert page.status_code == 200 and page.mimetype == "text/html" and "chữ ký".encode() in page.data
    browser = client.get(f"/api/v1/documents/{doc_id}/verification", headers={
        **world.headers("auditor"), "Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "en"})
    assert browser.mimetype == "text/html" and b'lang="en"' in browser.data
    assert client.get(f"/api/v1/documents/{doc_id}/verification",
                      headers=world.headers("other_auditor")).status_code == 404


def test_verify_any_pdf(client, world):
    import io

    r = client.post("/api/v1/verify", headers=world.headers("auditor"), content_type="multipart/form-data",
                    data={"file": (io.BytesIO(make_pdf()), "x.pdf")})
    assert r.status_code == 200 and r.json["signatures"] == []
    r = client.post("/api/v1/verify", headers=world.headers("auditor"), content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"GIF89a"), "x.gif")})
    assert r.status_code == 415


def test_a_failed_commit_leaves_no_half_document(client, world, engine, monkeypatch):
    """The audit append fails after the rows were flushed: the transaction rolls back whole;
    the stored blob is content-addressed and unreferenced, which is harmless."""
    import sqlalchemy as sa

    from exchange.services import documents
    from exchange.models import AuditEvent, Document, Revision

    def broken(*args, **kwargs):
        raise sa.exc.IntegrityError("INSERT INTO audit_event", {}, Exception("disk full"))

    monkeypatch.setattr(documents.audit, "record", broken)
    r = upload_via_api(client, world.headers("clerk"), make_pdf("không lưu được"))
    assert r.status_code == 500 and set(r.json) == {"error"}
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Document)).scalar() == 0
        assert s.exec(sa.select(sa.func.count()).select_from(Revision)).scalar() == 0
        assert not s.exec(sa.select(AuditEvent).where(AuditEvent.action == "document.upload")).scalars().all()


def test_a_corrupted_blob_is_never_served(client, world, app):
    import os

    doc = upload_via_api(client, world.headers("clerk"), make_pdf("sẽ hỏng")).json
    blob = app.extensions["lienthong.settings"].blob_dir / "sha256" / doc["sha256"][:2] / doc["sha256"][2:4] / doc["sha256"]
    os.chmod(blob, 0o644)
    blob.write_bytes(blob.read_bytes().replace(b"BT", b"XX"))
    r = client.get(f"/api/v1/documents/{doc['id']}/content", headers=world.headers("clerk"))
    assert r.status_code == 503 and r.json["error"]["code"].startswith("storage")
