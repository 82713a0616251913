"""Log lines: ``LIENTHONG_LOG_FORMAT=json`` gives one JSON object per line with the request's
id; a password or a bearer token never appears in what is logged, even at DEBUG."""
from __future__ import annotations

import io
import json
import logging

import pytest

from exchange.http import logs
from tests.db import session_scope
from tests.exchange_fixtures import PASSWORD, build_world

REQUEST_ID = "agency-poller-0001"


@pytest.fixture
def captured():  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("json", stream=stream, level=logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def world(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return build_world(s)


def test_one_json_object_per_line_with_the_request_id(app, captured):
    with app.test_request_context("/api/v1/inbox", headers={"X-Request-Id": REQUEST_ID}):
        app.preprocess_request()
        logging.getLogger("lienthong.test").warning("trong một yêu cầu")
    logging.getLogger("lienthong.test").info("outside")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    inside = next(line for line in lines if line["message"] == "trong một yêu cầu")
    assert set(inside) >= {"time", "level", "logger", "message", "request_id"}
    assert (inside["level"], inside["logger"], inside["request_id"]) == ("WARNING", "lienthong.test", REQUEST_ID)
    assert next(line for line in lines if line["message"] == "outside")["request_id"] is None


def test_the_request_id_is_returned_and_a_forged_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-Id": REQUEST_ID}).headers["X-Request-Id"] == REQUEST_ID
    forged = client.get("/healthz", headers={"X-Request-Id": "x\" level=ERROR \"y"}).headers["X-Request-Id"]
    assert len(forged) == 32 and forged.isalnum()


def test_a_password_and_a_bearer_token_are_never_logged(app, client, world, captured):
    clerk = world.people["clerk"]
    wrong = "Sai-mat-khau-9731"
    assert client.post("/api/v1/session", json={"username": clerk.username, "password": wrong}).status_code == 401
    assert client.post("/api/v1/session",
                       json={"username": clerk.username, "password": PASSWORD}).status_code == 200
    system_token = world.agency_tokens[world.all_communes[0]]
    assert client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {system_token}"}).status_code == 200
    assert client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {system_token}x"}).status_code == 401
    assert client.get("/api/v1/documents", headers={"Authorization": f"Bearer {clerk.token}"}).status_code == 200
    text = captured.getvalue()
    # each of those requests was logged (the test would prove nothing otherwise)
    for line in ("POST /api/v1/session 401", "POST /api/v1/session 200", "GET /api/v1/inbox 200",
                 "GET /api/v1/inbox 401", "GET /api/v1/documents 200"):
        assert line in text, line
    for secret in (PASSWORD, wrong, system_token, clerk.token):
        assert secret not in text
