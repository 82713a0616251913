"""Retry-After on every 503 that waiting can cure, none where it cannot (one place: the error
map in exchange/http/errors.py)."""
from __future__ import annotations

import pytest

from errors import ErrorCode, ServiceUnavailable, TooManyRequests
from exchange.http.errors import RETRY_AFTER_OF_CODE
from storage.blobs import BlobCorrupted, BlobNotFound, BlobStoreUnavailable
from storage.db import DatabaseUnavailable


@pytest.mark.parametrize("exc, status, retry_after", [
    (BlobStoreUnavailable("s3 down"), 503, "5"),
    (DatabaseUnavailable("connection refused"), 503, "5"),
    (ServiceUnavailable("tsa down", code=ErrorCode.TIMESTAMP_UNAVAILABLE), 503, "10"),
    (ServiceUnavailable("ocsp down"), 503, "10"),
    (TooManyRequests("slow down", retry_after=42), 429, "42"),  # a refusal's own delay wins
    (BlobCorrupted("hash mismatch"), 503, None),  # an operator must restore: waiting cures nothing
    (BlobNotFound("ab" * 32), 503, None),
    (RuntimeError("bug"), 500, None),
])
def test_retry_after_only_where_waiting_cures(app, exc, status, retry_after):
    @app.get("/_raise")
    def _raise():  # type: ignore[no-untyped-def]
        raise exc

    response = app.test_client().get("/_raise")
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry_after


def test_no_code_that_waiting_cannot_cure_has_a_delay():
    assert not {ErrorCode.STORAGE_CORRUPTED, ErrorCode.SCHEMA_NOT_MIGRATED, ErrorCode.INTERNAL_ERROR} & set(
        RETRY_AFTER_OF_CODE)


def test_a_full_connection_pool_is_a_503_with_retry_after(app):
    """An overload (every pooled connection busy past the pool's timeout; bench/soak.py met it
    with 250 clients) is curable by waiting: 503 database_unavailable, never a 500. The app's
    own engine and a real request; only the pool's 30 s timeout is shortened for the test."""
    from tests.db import engine_from_app, session_scope
    from tests.exchange_fixtures import auth, build_world

    engine = engine_from_app(app)
    with session_scope(engine, write=True) as session:
        world = build_world(session)
    client = app.test_client()
    headers = auth(world.agency_tokens[world.province])
    assert client.get("/api/v1/agencies", headers=headers).status_code == 200
    pool = engine.pool
    pool._timeout = 0.2  # type: ignore[attr-defined]  # QueuePool's checkout timeout (30 s by default)
    held = [engine.connect() for _ in range(pool.size() + pool._max_overflow)]  # type: ignore[attr-defined]
    try:
        # a token not used yet: its lookup needs a connection (a used one would be cached)
        response = client.get("/api/v1/documents/1", headers=auth(world.token("clerk")))
    finally:
        for conn in held:
            conn.close()
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert response.headers.get("Retry-After") == "5"
    assert client.get("/api/v1/agencies", headers=headers).status_code == 200  # and it recovers
