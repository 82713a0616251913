"""Hostile input against every route of the URL map (listed from ``app.url_map``, so a new
route is covered the day it is added): numbers beyond 64 bits, Unicode digits, NUL bytes,
lone surrogates, deep nesting and broken encodings in path segments, query strings, JSON
bodies and multipart JSON parts. Each answer is a 4xx in the one error shape, never a 5xx."""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from flask import Flask
from marshmallow import Schema, fields

from exchange.services import accounts
from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf

# raw JSON texts of hostile values (some cannot be written with json.dumps)
JSON_VALUES = {
    "int beyond 64 bits": "18446744073709551616",
    "negative int beyond 64 bits": "-9223372036854775809",
    "4301 digits": "1" * 4301,
    "float overflowing to infinity": "1e999",
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "NUL in a string": '"a\\u0000b"',
    "lone surrogate": '"a\\ud800b"',
    "Arabic-Indic digits": '"\u0661\u0662"',
    "fullwidth digits": '"\uff11\uff12"',
    "nested 40 deep": "[" * 40 + "]" * 40,
    "object nested 40 deep": '{"a":' * 40 + "1" + "}" * 40,
    "a list": "[1, 2]",
    "true": "true",
    "null": "null",
}
WHOLE_BODIES = {
    "nested 30000 deep": b"[" * 30000 + b"]" * 30000,
    "objects nested 10000 deep": b'{"a":' * 10000 + b"1" + b"}" * 10000,
    "invalid UTF-8": b'{"username": "\xff\xfe"}',
    "NUL byte raw": b'{"username": "a\x00b"}',
    "lone surrogate key": b'{"\\udc00": 1}',
    "5000-digit number": b'{"a": ' + b"9" * 5000 + b"}",
    "not JSON": b"{'a': 1}",
    "empty": b"",
}
PATH_VALUES = ["99999999999999999999", "9223372036854775808", "\u0661\u0662", "\uff11", "%00", "1%00",
               "%ED%A0%80", "%C0%AF", "-1", "1" * 400, "%F0%9F%98%80"]
QUERY_VALUES = PATH_VALUES + ["1e999", "1_000", " 12 ", "NaN", "%00%00"]
# never a number, whatever Python's int() and float() say
NOT_NUMBERS = ["99999999999999999999", "9223372036854775808", "\u0661\u0662", "\uff11", "%00", "1%00", "1" * 400,
               "1e999", "1_000", " 12 ", "NaN", "%F0%9F%98%80"]
ROUTE_ARG = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    body: Schema | None
    query: Schema | None

    def path(self, value: str = "1") -> str:
        return ROUTE_ARG.sub(value, self.rule)


def routes(app: Flask) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        spec = getattr(app.view_functions[rule.endpoint], "_spec", {})
        query = next((schema for schema, location in spec.get("args", []) if location == "query"), None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Route(rule.rule, method, spec.get("body"), query))
    return found


@pytest.fixture
def callers(engine: Any) -> dict[str, dict[str, str]]:
    """A user holding every role, and an agency's system: each gets past the role checks."""
    with session_scope(engine, write=True) as s:
        world = build_world(s)
        user = accounts.add_user(s, username="moi.vai.tro", agency_code=world.province,
                                 roles=["clerk", "signer", "auditor", "admin"], full_name="Đủ Vai Trò",
                                 position="", password="mật-khẩu-đủ-dài-1", actor="test")
        _, secret = accounts.add_token(s, user_id=user.id, name="t", actor="test")
    return {"user": {"Authorization": f"Bearer {secret}"},
            "agency": {"Authorization": f"Bearer {world.agency_tokens[world.province]}"}}


def _json_bodies(schema: Schema) -> Iterator[tuple[str, bytes]]:
    for name in schema.load_fields:
        for label, raw in JSON_VALUES.items():
            yield f"{name}={label}", f'{{"{name}": {raw}}}'.encode()


def _multipart_bodies(schema: Schema) -> Iterator[tuple[str, dict[str, Any]]]:
    """Hostile values in each field of every JSON part (e.g. the upload's ``metadata``)."""
    for part, field in schema.load_fields.items():
        if isinstance(field, fields.Nested):
            inner = field.schema
            for label, raw_body in [*_json_bodies(inner), *WHOLE_BODIES.items()]:
                yield f"{part}: {label}", {part: raw_body.decode("utf-8", "replace")}


def _check(response: Any, what: str, failures: list[str]) -> None:
    if response.status_code >= 500:
        failures.append(f"{what}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    elif response.status_code >= 400 and response.mimetype == "application/json":
        error = (response.get_json(silent=True) or {}).get("error", {})
        if not (error.get("code") and error.get("message")):
            failures.append(f"{what}: {response.status_code} without the error shape")


@pytest.mark.parametrize("who", ["user", "agency"])
def test_hostile_path_segments(app, callers, who):
    client, failures = app.test_client(), []
    for route in routes(app):
        if "<" not in route.rule:
            continue
        for value in PATH_VALUES:
            response = client.open(route.path(value), method=route.method, headers=callers[who], json={})
            what = f"{route.method} {route.path(value)[:120]}"
            _check(response, what, failures)
            if "int:" in route.rule and value not in ("-1", "0") and response.status_code not in (404, 405):
                failures.append(f"{what}: {response.status_code}, not 404")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("who", ["user", "agency"])
def test_hostile_query_strings(app, callers, who):
    client, failures = app.test_client(), []
    for route in routes(app):
        names = list(route.query.load_fields) if route.query is not None else ["after", "x"]
        for name in names:
            for value in QUERY_VALUES:
                url = f"{route.path()}?{name}={value}"
                response = client.open(url, method=route.method, headers=callers[who])
                _check(response, f"{route.method} {url}", failures)
                numeric = route.query is not None and isinstance(route.query.load_fields[name], fields.Number)
                if numeric and value in NOT_NUMBERS and response.status_code < 400:
                    failures.append(f"{route.method} {url}: {response.status_code}, taken for a number")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("who", ["user", "agency"])
def test_hostile_json_bodies(app, callers, who):
    client, failures = app.test_client(), []
    for route in routes(app):
        if route.method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        bodies = list(WHOLE_BODIES.items())
        if route.body is not None:
            bodies += list(_json_bodies(route.body))
        for label, raw in bodies:
            response = client.open(route.path(), method=route.method, headers=callers[who], data=raw,
                                   content_type="application/json")
            _check(response, f"{route.method} {route.path()} {label}", failures)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("who", ["user", "agency"])
def test_hostile_multipart_json_parts(app, callers, who):
    client, failures = app.test_client(), []
    for route in routes(app):
        if route.body is None or not any(isinstance(f, fields.Nested) for f in route.body.load_fields.values()):
            continue
        for label, parts in _multipart_bodies(route.body):
            data = {"file": (io.BytesIO(make_pdf()), "a.pdf"), **parts}
            response = client.open(route.path(), method=route.method, headers=callers[who], data=data,
                                   content_type="multipart/form-data")
            _check(response, f"{route.method} {route.path()} {label}", failures)
            if who == "user" and response.status_code == 201:
                failures.append(f"{route.method} {route.path()} {label}: accepted")
    assert not failures, "\n".join(failures)


def test_every_route_is_reached(app):
    """The lists above come from the URL map: the API's routes are all there."""
    listed = {(r.method, r.rule) for r in routes(app)}
    assert ("POST", "/api/v1/documents") in listed and ("POST", "/api/v1/session") in listed
    assert len(listed) > 30
    assert json.dumps(sorted(listed))  # nothing unprintable in the rules themselves


def _fields(schema: Schema) -> Iterator[tuple[str, fields.Field]]:
    for name, field in schema.load_fields.items():
        yield name, field
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from _fields(inner.schema)


def test_every_input_schema_uses_the_strict_field_types(app):
    """New routes' schemas too: a plain marshmallow Integer/Float/String lets hostile input
    through (``exchange.services.input_rules`` says what)."""
    from exchange.services import input_rules

    loose = []
    for route in routes(app):
        for schema in filter(None, (route.body, route.query)):
            for name, field in _fields(schema):
                for plain, strict in ((fields.Integer, input_rules.Integer), (fields.Float, input_rules.Float),
                                      (fields.String, input_rules.String)):
                    if type(field) is plain and not isinstance(field, strict):  # apiflask.fields re-exports these
                        loose.append(f"{route.method} {route.rule}: {type(schema).__name__}.{name}")
    assert not loose, loose
