"""What the OpenAPI document promises, made to match what the service does (found by the
fuzzer, tests/integration/exchange/http/test_fuzz.py): a request body whose schema has
required fields is itself required (else a request without one is "valid" by the document,
and the 422 that answers it breaks the promise).
"""
from __future__ import annotations

from typing import Any

from flask import Flask

_REF_PREFIX = "#/components/schemas/"


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


def install(app: Flask) -> None:
    """Add the processor after the blueprints' own: APIFlask keeps one spec callback, so the
    one a blueprint registered (verification's HTML alternative) runs first, inside ours."""
    previous = getattr(app, "spec_callback", None)

    def process(spec: dict[str, Any]) -> dict[str, Any]:
        return require_bodies_with_required_fields(previous(spec) if previous else spec)

    app.spec_processor(process)  # type: ignore[attr-defined]  # APIFlask's, not Flask's
