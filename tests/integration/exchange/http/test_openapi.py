"""The OpenAPI document describes every endpoint, its security and the one error shape."""
from __future__ import annotations

import re


def test_every_api_route_is_described(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule in ("/api/v1/openapi.json",) or "docs" in rule.rule:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in described, f"{method} {path} missing from the OpenAPI document"


def test_errors_have_one_documented_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    for name in ("HTTPError", "ValidationError"):
        error = schemas[name]["properties"]["error"]
        assert set(error["required"]) == {"code", "message"} and "fields" in error["properties"]
    upload = spec["paths"]["/api/v1/documents"]["post"]
    assert set(upload["responses"]) >= {"201", "401", "403", "413", "415", "422"}
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"BearerAuth", "SessionCookie"} <= set(spec["components"]["securitySchemes"])
    assert upload["security"] == [{"BearerAuth": []}, {"SessionCookie": []}]


def test_the_upload_metadata_fields_are_described(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    metadata = schemas["DocumentMetadataIn"]["properties"]
    assert {"number", "notation", "doc_type", "subject", "urgency", "confidentiality", "issued_on", "place",
            "signer_name", "signer_position", "due_on", "reply_to"} <= set(metadata)
    assert metadata["urgency"]["enum"] == ["normal", "urgent", "very_urgent", "flash"]


def test_interactive_docs_are_served(client):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200 and b"openapi.json" in r.data
