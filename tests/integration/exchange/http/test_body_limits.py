"""Bodies are limited before they are read: a JSON body over LIENTHONG_MAX_JSON_KB (a login's
over a few kB) is refused with 413 unparsed, announced or chunked; an upload keeps its own
limit (LIENTHONG_MAX_UPLOAD_MB)."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest

from exchange.http.guards import LOGIN_BODY_LIMIT
from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf, snapshot, upload_via_api


@pytest.fixture
def world(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return build_world(s)


def _json_of_size(size: int) -> bytes:
    body = json.dumps({"to": ["x" * (size - 12)]}).encode()
    assert abs(len(body) - size) < 16
    return body


def _assert_too_large(response: Any) -> None:
    assert response.status_code == 413, response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and " kB" in error["message"], error


def test_a_json_body_over_the_limit_is_refused_and_changes_nothing(app, client, world, engine):
    doc = upload_via_api(client, world.headers("clerk")).get_json()["id"]
    before = snapshot(engine, app)
    url = f"/api/v1/documents/{doc}/dispatches"
    limit = app.extensions["lienthong.settings"].max_json_kb * 1024
    response = client.post(url, data=_json_of_size(limit + 100), content_type="application/json",
                           headers={**world.headers("clerk"), "Idempotency-Key": "k1"})
    _assert_too_large(response)
    assert snapshot(engine, app) == before
    # just under the limit: read and judged on its content (an unknown recipient), not its size
    under = client.post(url, data=_json_of_size(limit - 100), content_type="application/json",
                        headers={**world.headers("clerk"), "Idempotency-Key": "k2"})
    assert under.status_code == 422


def test_a_chunked_body_without_a_length_is_cut_at_the_limit(app, client, world):
    limit = app.extensions["lienthong.settings"].max_json_kb * 1024
    body = _json_of_size(limit * 4)
    response = client.post("/api/v1/documents/1/recall", input_stream=io.BytesIO(body),
                           headers={**world.headers("clerk"), "Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_base={"wsgi.input_terminated": True})  # as gunicorn says of a chunked body
    _assert_too_large(response)


def test_a_login_body_is_limited_to_a_few_kilobytes_unauthenticated(client, world):
    body = json.dumps({"username": "vanthu.tinh", "password": "p" * LOGIN_BODY_LIMIT}).encode()
    _assert_too_large(client.post("/api/v1/session", data=body, content_type="application/json"))
    small = json.dumps({"username": "vanthu.tinh", "password": world.password}).encode()
    assert client.post("/api/v1/session", data=small, content_type="application/json").status_code == 200


def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(client, world):
    # announced as 120 MB: refused from the header, the bytes are never read
    response = client.post("/api/v1/documents/1/dispatches", input_stream=io.BytesIO(b"[" * 1024),
                           content_type="application/json",
                           environ_overrides={"CONTENT_LENGTH": str(120 * 1024 * 1024)})
    _assert_too_large(response)


def test_an_upload_keeps_its_own_limit(client, world):
    pdf = make_pdf("x" * 2000, pages=60)  # over the JSON limit, under the upload's
    assert len(pdf) > 2 * 64 * 1024
    assert upload_via_api(client, world.headers("clerk"), pdf).status_code == 201
