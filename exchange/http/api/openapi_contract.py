"""What the OpenAPI document promises, made to match what the service does (found by the
fuzzer, tests/integration/exchange/http/test_fuzz.py): a request body whose schema has
required fields is itself required (else a request without one is "valid" by the document,
and the 422 that answers it breaks the promise); and the errors any operation may answer,
whatever it does, are listed on each (a handler's own ``responses`` say more and stay).
"""
from __future__ import annotations

from typing import Any

from flask import Flask

_REF_PREFIX = "#/components/schemas/"
ERROR_REF = {"$ref": _REF_PREFIX + "HTTPError"}
# any operation: a name in the query or the path that names nothing, a refused query
# parameter (exchange/http/api/query_guard.py, guards.py), the database or the store down or
# full (even a read records something: a token's use, a download's fetch)
EVERY_OPERATION = {404: "nothing of that name, or not visible to the caller",
                   422: "invalid input (a query parameter, a field)",
                   503: "the database or the document store is not answering (Retry-After)",
                   507: "the database's or the document store's disk is full: nothing was saved"}
WITH_BODY = {400: "the body cannot be parsed", 413: "the body is larger than its limit",
             415: "the body's media type is not the documented one"}
SECURED = {401: "no valid token or session", 403: "the caller's role or agency may not do this"}


def _schema_of(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        found = spec.get("components", {}).get("schemas", {}).get(ref[len(_REF_PREFIX):], {})
        return found if isinstance(found, dict) else {}
    return schema


def require_bodies_with_required_fields(spec: dict[str, Any]) -> dict[str, Any]:
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not isinstance(body, dict):
                continue
            contents = body.get("content", {}).values()
            if any(_schema_of(spec, content.get("schema", {})).get("required") for content in contents):
                body["required"] = True
    return spec


def list_common_errors(spec: dict[str, Any]) -> dict[str, Any]:
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            common = dict(EVERY_OPERATION)
            if "requestBody" in operation:
                common.update(WITH_BODY)
            if operation.get("security"):
                common.update(SECURED)
            responses = operation["responses"]
            for status, description in common.items():
                responses.setdefault(str(status), {"description": description,
                                                   "content": {"application/json": {"schema": ERROR_REF}}})
    return spec


def install(app: Flask) -> None:
    """Add the processor after the blueprints' own: APIFlask keeps one spec callback, so the
    one a blueprint registered (verification's HTML alternative) runs first, inside ours."""
    previous = getattr(app, "spec_callback", None)

    def process(spec: dict[str, Any]) -> dict[str, Any]:
        return list_common_errors(require_bodies_with_required_fields(previous(spec) if previous else spec))

    app.spec_processor(process)  # type: ignore[attr-defined]  # APIFlask's, not Flask's
