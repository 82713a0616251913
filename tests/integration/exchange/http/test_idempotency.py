"""``Idempotency-Key`` on uploads and signatures: the same key and body get the same answer
(one document, one revision), another body 409 ``idempotency_key_reused``, a twin still
running 409 ``idempotency_in_progress`` after waiting, a failed request gives its key back,
keys are one caller's and expire."""
from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from exchange.models import Document, IdempotencyRecord, Revision, utcnow
from exchange.services import idempotency
from tests.db import services_of, session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, build_world, caller_for, make_pdf, snapshot
from tests.signing_world import pki_template, signing_world, upload  # noqa: F401 (fixtures)

PDF = make_pdf("Công văn gửi lại")


@pytest.fixture
def world(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return build_world(s)


def _upload(client: Any, headers: dict[str, str], key: str | None, metadata: dict[str, Any] | None = None,
            pdf: bytes = PDF) -> Any:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/v1/documents", headers={**headers, **extra}, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf), "van-ban.pdf"),
                             "metadata": json.dumps({**DOCUMENT_METADATA, **(metadata or {})})})


def _count(engine: Any, model: Any) -> int:
    with session_scope(engine) as s:
        return s.exec(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_an_upload_retried_with_its_key_makes_one_document(client, world, engine):
    first = _upload(client, world.headers("clerk"), "tai-len-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = _upload(client, world.headers("clerk"), "tai-len-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert _count(engine, Document) == 1
    # without a key, each upload is a new document, as before
    assert _upload(client, world.headers("clerk"), None).get_json()["id"] != first.get_json()["id"]


def test_another_body_under_the_same_key_is_refused_and_changes_nothing(app, client, world, engine):
    assert _upload(client, world.headers("clerk"), "k").status_code == 201
    before = snapshot(engine, app)
    for other in (_upload(client, world.headers("clerk"), "k", {"subject": "Trích yếu khác"}),
                  _upload(client, world.headers("clerk"), "k", pdf=make_pdf("tệp khác"))):
        assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert snapshot(engine, app) == before


def test_a_key_belongs_to_one_caller(client, world, engine):
    mine = _upload(client, world.headers("clerk"), "chung")
    theirs = _upload(client, world.headers("other_clerk"), "chung")  # another agency's clerk, same key
    assert theirs.status_code == 201 and theirs.get_json()["id"] != mine.get_json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert _count(engine, Document) == 2


def test_a_refused_request_gives_its_key_back(client, world, engine):
    refused = _upload(client, world.headers("clerk"), "k", pdf=b"not a pdf")
    assert refused.status_code == 415
    assert _count(engine, IdempotencyRecord) == 0
    assert _upload(client, world.headers("clerk"), "k", pdf=b"not a pdf").status_code == 415  # not 409: run again
    assert _upload(client, world.headers("clerk"), "k").status_code == 201  # and then the key is free for the fix


def test_a_twin_waits_for_the_first_answer(app, client, world, engine, monkeypatch):
    """The first request holds the key (claimed, still running); its twin waits and gets the
    first one's answer as soon as it is stored."""
    svc, caller = services_of(app), caller_for(world, "clerk")
    from exchange.http.idempotency import request_fingerprint
    with app.test_request_context("/api/v1/documents", method="POST", content_type="multipart/form-data",
                                  data={"file": (io.BytesIO(PDF), "van-ban.pdf"),
                                        "metadata": json.dumps(DOCUMENT_METADATA)}):
        fingerprint = request_fingerprint()
    claimed = idempotency.claim(svc, caller, "POST /api/v1/documents", "song-sinh", fingerprint)
    assert isinstance(claimed, idempotency.Claimed)
    answer = json.dumps({"id": 4242})
    timer = threading.Timer(0.5, idempotency.store, (svc, claimed, 201, answer, {"Content-Type": "application/json"}))
    timer.start()
    twin = _upload(client, world.headers("clerk"), "song-sinh")
    timer.join()
    assert twin.status_code == 201 and twin.get_json() == {"id": 4242}
    assert _count(engine, Document) == 0  # the twin ran nothing itself


def test_a_twin_that_waited_long_enough_is_told_to_come_back(app, client, world, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_FOR_TWIN_S", 0.3)
    svc, caller = services_of(app), caller_for(world, "clerk")
    from exchange.http.idempotency import request_fingerprint
    with app.test_request_context("/api/v1/documents", method="POST", content_type="multipart/form-data",
                                  data={"file": (io.BytesIO(PDF), "van-ban.pdf"),
                                        "metadata": json.dumps(DOCUMENT_METADATA)}):
        fingerprint = request_fingerprint()
    assert isinstance(idempotency.claim(svc, caller, "POST /api/v1/documents", "dang-chay", fingerprint),
                      idempotency.Claimed)
    twin = _upload(client, world.headers("clerk"), "dang-chay")
    assert twin.status_code == 409 and twin.get_json()["error"]["code"] == "idempotency_in_progress"
    assert twin.headers["Retry-After"] == "1"


def test_keys_expire(client, world, engine):
    first = _upload(client, world.headers("clerk"), "cu")
    with session_scope(engine, write=True) as s:
        s.execute(sa.update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    later = _upload(client, world.headers("clerk"), "cu")
    assert later.status_code == 201 and later.get_json()["id"] != first.get_json()["id"]
    assert _count(engine, IdempotencyRecord) == 1  # the expired one is gone


def test_a_repeated_person_signature_adds_one_revision(client, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    headers = {**sw.headers("signer"), "Idempotency-Key": "ky-1"}
    first = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=headers, json={"profile": "person"})
    assert first.status_code == 201, first.get_json()
    again = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=headers,  # same value, other spelling
                        data='{ "profile" :  "person" }', content_type="application/json")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Revision)
                      .where(Revision.document_id == doc_id)).scalar_one() == 2  # original + one signature
    other = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=headers,
                        json={"profile": "person", "level": "B-B"})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
