"""errors.py: every failure reaches the client as our JSON error shape, never a traceback."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from errors import Conflict, Unprocessable
from storage.blobs import BlobCorrupted, BlobNotFound, BlobStoreUnavailable
from storage.db import DatabaseUnavailable


class _PostgresDiskFull(Exception):
    sqlstate = "53100"  # what psycopg's DiskFull carries


@pytest.mark.parametrize("exc, status, code", [
    (Conflict("already sent"), 409, "conflict"),
    (Unprocessable("bad", fields={"urgency": "unknown value"}), 422, "invalid"),
    (BlobStoreUnavailable("s3 down"), 503, "storage_unavailable"),
    (BlobNotFound("ab" * 32), 503, "storage_unavailable"),
    (BlobCorrupted("hash mismatch"), 503, "storage_corrupted"),
    (DatabaseUnavailable("connection refused"), 503, "database_unavailable"),
    (sa.exc.OperationalError("INSERT", {}, _PostgresDiskFull("could not extend file")), 507, "storage_full"),
    (RuntimeError("secret detail /etc/passwd"), 500, "internal_error"),
])
def test_errors_map_to_json(app, exc, status, code):
    @app.get("/_raise")
    def _raise():  # type: ignore[no-untyped-def]
        raise exc

    response = app.test_client().get("/_raise")
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code
    assert "secret detail" not in response.get_data(as_text=True)
    if isinstance(exc, Unprocessable):
        assert body["error"]["fields"] == {"urgency": "unknown value"}
