"""Bad input gets a clear 4xx with field messages, and changes nothing: every table's rows
and the blob store's files are compared before and after each refused request."""
from __future__ import annotations

import io
import json

import pytest

from app import create_app
from tests.db import session_scope
from tests.exchange_fixtures import (DOCUMENT_METADATA, build_world, encrypted_pdf, make_pdf, snapshot,
                                     upload_via_api)


@pytest.fixture
def small_app(settings):
    application = create_app(settings.with_changes(max_upload_mb=1))
    yield application
    application.extensions["lienthong.engine"].dispose()


@pytest.fixture
def setup(small_app, engine):
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    client = small_app.test_client()
    existing = upload_via_api(client, world.headers("clerk"), make_pdf("đã có")).json["id"]
    theirs = upload_via_api(client, world.headers("other_clerk"), make_pdf("của tỉnh khác")).json["id"]
    return world, client, existing, theirs


def _upload(client, headers, pdf, metadata):
    return upload_via_api(client, headers, pdf, metadata)


UPLOADS = {
    # name: (pdf, metadata, status, field expected in "fields" or None)
    "not a pdf": (b"<html>not a pdf</html>", None, 415, "file"),
    "png renamed": (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, None, 415, "file"),
    "empty file": (b"", None, 415, "file"),
    "truncated": (make_pdf()[:-40], None, 422, "file"),
    "header only": (b"%PDF-1.7\n", None, 422, "file"),
    "encrypted": (encrypted_pdf(), None, 422, "file"),
    "oversized": (b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10), None, 413, None),
    "urgency wrong": (make_pdf(), {"urgency": "very urgent"}, 422, "metadata.urgency"),
    "date wrong type": (make_pdf(), {"issued_on": 20261120}, 422, "metadata.issued_on"),
    "date nonsense": (make_pdf(), {"due_on": "2026-13-45"}, 422, "metadata.due_on"),
    "subject wrong type": (make_pdf(), {"subject": ["a", "b"]}, 422, "metadata.subject"),
    "subject too long": (make_pdf(), {"subject": "x" * 2001}, 422, "metadata.subject"),
    "subject empty": (make_pdf(), {"subject": ""}, 422, "metadata.subject"),
    "unknown field": (make_pdf(), {"colour": "red"}, 422, "metadata.colour"),
    "reply_to wrong type": (make_pdf(), {"reply_to": "abc"}, 422, "metadata.reply_to"),
    "reply_to unknown": (make_pdf(), {"reply_to": 987654}, 422, "metadata.reply_to"),
    "secret": (make_pdf(), {"confidentiality": "secret"}, 422, "metadata.confidentiality"),
    "top secret": (make_pdf(), {"confidentiality": "top_secret"}, 422, "metadata.confidentiality"),
    "absolute secret": (make_pdf(), {"confidentiality": "absolute_secret"}, 422, "metadata.confidentiality"),
    "due before issue": (make_pdf(), {"issued_on": "2026-11-20", "due_on": "2026-11-01"}, 422, "metadata.due_on"),
    "metadata not json": (make_pdf(), "{not json", 422, "metadata"),
    "metadata a list": (make_pdf(), "[1, 2]", 422, "metadata"),
}


@pytest.mark.parametrize("name", list(UPLOADS))
def test_bad_uploads_change_nothing(setup, small_app, engine, name):
    world, client, _existing, _theirs = setup
    pdf, metadata, status, field = UPLOADS[name]
    before = snapshot(engine, small_app)
    r = _upload(client, world.headers("clerk"), pdf, metadata)
    assert r.status_code == status, r.json
    assert set(r.json) == {"error"} and r.json["error"]["code"] and r.json["error"]["message"]
    if field:
        assert field in r.json["error"]["fields"], r.json
    assert snapshot(engine, small_app) == before


def test_reply_to_another_agencys_document_looks_unknown(setup, small_app, engine):
    world, client, _existing, theirs = setup
    before = snapshot(engine, small_app)
    r = _upload(client, world.headers("clerk"), make_pdf("x"), {"reply_to": theirs})
    unknown = _upload(client, world.headers("clerk"), make_pdf("x"), {"reply_to": 987654})
    assert r.status_code == unknown.status_code == 422
    assert r.json == unknown.json  # same answer: existence is not revealed
    assert snapshot(engine, small_app) == before


@pytest.mark.parametrize("request_kwargs, field", [
    ({"data": {"metadata": json.dumps(DOCUMENT_METADATA)}}, "file"),
    ({"data": {"file": (io.BytesIO(make_pdf()), "a.pdf")}}, "metadata"),
    ({"json": {"file": "JVBERi0=", "metadata": DOCUMENT_METADATA}}, "file"),
])
def test_missing_parts(setup, small_app, engine, request_kwargs, field):
    world, client, _e, _t = setup
    before = snapshot(engine, small_app)
    kwargs = dict(request_kwargs)
    if "data" in kwargs:
        kwargs["content_type"] = "multipart/form-data"
    r = client.post("/api/v1/documents", headers=world.headers("clerk"), **kwargs)
    assert r.status_code == 422 and field in r.json["error"]["fields"]
    assert snapshot(engine, small_app) == before


@pytest.mark.parametrize("path, status, field", [
    ("/api/v1/agencies?parent=999.99.99.H99", 404, None),
    ("/api/v1/agencies?parent=không-phải-mã", 404, None),
    ("/api/v1/agencies?limit=abc", 422, "limit"),
    ("/api/v1/agencies?limit=100000", 422, "limit"),
    ("/api/v1/audit?after=-1", 422, "after"),
    ("/api/v1/audit?after=x&limit=y", 422, "limit"),
    ("/api/v1/documents?state=archived", 422, "state"),
    ("/api/v1/documents?after=first", 422, "after"),
    ("/api/v1/documents/{existing}/content?revision=zero", 422, "revision"),
    ("/api/v1/documents/{existing}/content?revision=0", 422, "revision"),
    ("/api/v1/documents/{existing}/content?revision=9", 404, None),
    ("/api/v1/documents/abc", 404, None),
    ("/api/v1/documents/{theirs}", 404, None),
])
def test_bad_queries(setup, small_app, engine, path, status, field):
    world, client, existing, theirs = setup
    who = "auditor" if path.startswith("/api/v1/audit") else "clerk"
    before = snapshot(engine, small_app)
    r = client.get(path.format(existing=existing, theirs=theirs), headers=world.headers(who))
    assert r.status_code == status, r.json
    assert set(r.json) == {"error"}
    if field:
        assert field in r.json["error"]["fields"]
    assert snapshot(engine, small_app) == before


@pytest.mark.parametrize("body", [{"username": 5, "password": "x"}, {"username": "a"}, [], "x"])
def test_bad_login_bodies(setup, small_app, engine, body):
    world, client, _e, _t = setup
    before = snapshot(engine, small_app)
    r = client.post("/api/v1/session", json=body)
    assert r.status_code in (400, 422) and "error" in r.json
    assert snapshot(engine, small_app) == before
