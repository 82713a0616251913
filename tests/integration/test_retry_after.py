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
