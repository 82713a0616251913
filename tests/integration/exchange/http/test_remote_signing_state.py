"""Remote signing keeps the prepared PDF in the blob store: the signing session's row holds a
small envelope (digest, pyHanko's state, a reference to the blob), never the document."""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from exchange.models import SigningSession
from storage.blobs import blob_key
from tests.db import session_scope
from tests.signing_world import HeldKey, issue_held_key, pki_template, signing_world, upload  # noqa: F401

SIGNER_NAME = "Trần Văn Ánh"  # the world's province signer
PDF_MAGIC = b"%PDF-"


def _state(engine: Any, session_id: str) -> bytes:
    with session_scope(engine) as s:
        row = s.get(SigningSession, session_id)
        assert row is not None
        return bytes(row.state)


def _assert_holds_no_document(state: bytes) -> None:
    # a copy of the document would start with its header: as bytes, as base64 or as hex
    assert PDF_MAGIC not in state
    assert base64.b64encode(PDF_MAGIC)[:7] not in state  # b"JVBERi0"
    assert PDF_MAGIC.hex().encode() not in state.lower()


def test_the_session_row_references_the_prepared_pdf_blob(client, engine, settings, signing_world):  # noqa: F811
    sw = signing_world
    held: HeldKey = issue_held_key(settings, full_name=SIGNER_NAME, agency_code=sw.world.province,
                                   agency_name="UBND tỉnh Thử Nghiệm")
    doc_id = upload(client, sw)
    r = client.post(f"/api/v1/documents/{doc_id}/signatures/prepare", headers=sw.headers("signer"),
                    json={"certificate": held.pem, "profile": "person", "level": "B-LT"})
    assert r.status_code == 201, r.get_json()
    prepared = r.get_json()

    state = _state(engine, prepared["session_id"])
    _assert_holds_no_document(state)
    envelope = json.loads(state)
    ref = envelope["prepared_pdf"]
    blob = settings.blob_dir / blob_key(ref["sha256"])  # read behind the store's back: our own hash check
    data = blob.read_bytes()
    assert hashlib.sha256(data).hexdigest() == ref["sha256"] and len(data) == ref["size"]
    assert data.startswith(PDF_MAGIC) and envelope["field_name"].encode() in data
    assert len(state) < len(data) / 2, (len(state), len(data))  # an envelope, not a copy
    assert envelope["digest"] == prepared["digest"]

    done = client.post(f"/api/v1/signing-sessions/{prepared['session_id']}/complete", headers=sw.headers("signer"),
                       json={"signature": held.sign_digest(prepared["digest"])})
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["revision"]["seq"] == 2
    finished = _state(engine, prepared["session_id"])
    _assert_holds_no_document(finished)
    assert json.loads(finished)["prepared_pdf"] == ref
