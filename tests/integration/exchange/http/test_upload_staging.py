"""A large upload is written once, into the blob store's own temporary folder, hashed as it
arrives, and renamed into place (issue 13, item 4); a refused one leaves nothing there."""
from __future__ import annotations

import hashlib
import io
import json
import os

import pytest

from storage.blobs import StagedUpload, blob_key
from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, build_world, make_pdf, padded_pdf, upload_via_api


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


@pytest.fixture
def staged(app, monkeypatch):
    """Every StagedUpload the blob store hands out during the test."""
    store = app.extensions["lienthong.services"].blobs
    made: list[StagedUpload] = []
    real = store.stage

    def stage() -> StagedUpload:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(store, "stage", stage)
    return made


def _temporary_files(app) -> list[str]:
    tmp = app.extensions["lienthong.services"].blobs.root / "tmp"
    return sorted(os.listdir(tmp)) if tmp.is_dir() else []


def test_a_large_upload_is_renamed_into_the_store(client, world, app, staged):
    pdf = padded_pdf(900, os.urandom(8))
    r = upload_via_api(client, world.headers("clerk"), pdf)
    assert r.status_code == 201, r.json
    assert r.json["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert len(staged) == 1 and staged[0].taken and staged[0].closed  # no copy: the file itself became the blob
    blob = app.extensions["lienthong.services"].blobs.root / blob_key(r.json["sha256"])
    assert staged[0].path == str(blob) and blob.read_bytes() == pdf
    assert _temporary_files(app) == []
    content = client.get(f"/api/v1/documents/{r.json['id']}/content", headers=world.headers("clerk"))
    assert content.data == pdf


def test_a_small_upload_stays_in_memory(client, world, staged):
    assert upload_via_api(client, world.headers("clerk"), make_pdf("nhỏ")).status_code == 201
    assert staged == []


@pytest.mark.parametrize("body", [b"not a PDF " * 100_000, b"%PDF-1.7\n" + b"% truncated\n" * 80_000],
                         ids=["not-pdf", "truncated"])
def test_a_refused_large_upload_leaves_no_file(client, world, app, staged, body):
    r = upload_via_api(client, world.headers("clerk"), body)
    assert r.status_code in (415, 422) and r.json["error"]["code"] in ("not_pdf", "pdf_damaged")
    assert len(staged) == 1 and staged[0].closed and not staged[0].taken
    assert _temporary_files(app) == []
    assert client.get("/api/v1/documents", headers=world.headers("clerk")).json["items"] == []


@pytest.mark.parametrize("who, status", [("auditor", 403), ("nobody", 401), ("revoked", 401)])
def test_a_caller_who_may_not_upload_gets_no_byte_staged(client, world, app, staged, who, status):
    special = {"nobody": {}, "revoked": {"Authorization": f"Bearer {world.revoked_token}"}}
    headers = special[who] if who in special else world.headers(who)
    r = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(padded_pdf(600, b"x")), "a.pdf"),
                          "metadata": json.dumps(DOCUMENT_METADATA)})
    assert r.status_code == status
    assert staged == []  # refused before the body was read, not staged and then removed
    assert _temporary_files(app) == []


def test_a_staged_upload_replays_under_its_idempotency_key(client, world, staged):
    pdf = padded_pdf(700, os.urandom(8))
    headers = {**world.headers("clerk"), "Idempotency-Key": "staged-1"}
    first = upload_via_api(client, headers, pdf)
    again = upload_via_api(client, headers, pdf)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json["id"] == first.json["id"]
    other = upload_via_api(client, headers, padded_pdf(700, os.urandom(8)))
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_key_reused"
