"""The OpenAPI document says what the service accepts, as the fuzzer found it must
(exchange/http/api/openapi_contract.py, the strict fields' bounds and pattern, ids past the
database's range)."""
from __future__ import annotations

import re

import pytest
from marshmallow import ValidationError

from tests.db import session_scope
from tests.exchange_fixtures import build_world
from exchange.services.input_rules import ALLOWED_TEXT_PATTERN, DB_INT_MAX, forbidden_character


def _spec(client):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/openapi.json").get_json()


def test_a_body_with_required_fields_is_required(client):
    paths = _spec(client)["paths"]
    assert paths["/api/v1/session"]["post"]["requestBody"]["required"] is True
    assert paths["/api/v1/documents"]["post"]["requestBody"]["required"] is True
    # the paper registration reads its body itself: the JSON form is documented all the same
    paper = paths["/api/v1/registers/incoming"]["post"]["requestBody"]
    assert paper["required"] is True and "application/json" in paper["content"]


def test_the_verification_html_alternative_survives_the_contract_processor(client):
    report = _spec(client)["paths"]["/api/v1/verify"]["post"]["responses"]["200"]["content"]
    assert "text/html" in report


def test_strict_fields_state_their_bounds_and_the_characters_they_refuse(client):
    spec = _spec(client)
    search = {p["name"]: p for p in spec["paths"]["/api/v1/documents"]["get"]["parameters"]}
    assert search["after"]["schema"]["minimum"] == 0 and search["after"]["schema"]["maximum"] == DB_INT_MAX
    login = spec["components"]["schemas"]["LoginIn"]["properties"]["username"]
    assert login["pattern"] == ALLOWED_TEXT_PATTERN
    allowed = re.compile(ALLOWED_TEXT_PATTERN)
    for text in ("Xã An Bình\tdòng\r\n2", "\x00", "a\x1fb", "\x0b"):
        assert (allowed.fullmatch(text) is None) == forbidden_character(text), repr(text)


def test_an_id_past_the_database_range_is_no_such_url_for_every_method(client, engine):
    with session_scope(engine, write=True) as session:
        world = build_world(session)
    too_big = DB_INT_MAX + 1
    for method in ("get", "delete"):  # DELETE answered 405 (the GET rule's methods), undocumented
        response = getattr(client, method)(f"/api/v1/documents/1/attachments/{too_big}",
                                           headers=world.headers("clerk"))
        assert response.status_code == 404, (method, response.status_code)
        assert response.get_json()["error"]["code"] == "not_found"


def test_every_operation_lists_the_errors_any_operation_may_answer(client):
    for path, operations in _spec(client)["paths"].items():
        for method, operation in operations.items():
            listed = set(operation["responses"])
            assert {"404", "422", "503", "507"} <= listed, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= listed, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= listed, (method, path)


def test_an_integral_json_number_is_an_integer():
    from exchange.services.input_rules import Integer

    assert Integer(strict=True).deserialize(54.0) == 54
    with pytest.raises(ValidationError):
        Integer(strict=True).deserialize(54.5)
