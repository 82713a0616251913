"""What only the MinIO store does: bucket with object lock created lazily, retention (WORM),
and an unreachable server seen by the app as 503."""
from __future__ import annotations

import io
import os
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from minio.error import S3Error

from storage.blobs import BlobStoreUnavailable, blob_key, read_bytes
from tests.db import store_from_app
from tests.integration.storage.conftest import Backend, closed_port, s3_settings
from tests.s3server import S3Endpoint


def _until(headers) -> datetime:  # type: ignore[no-untyped-def]
    # Read from the HEAD headers: moto's GetObjectRetention is broken.
    value = headers["x-amz-object-lock-retain-until-date"]
    return datetime.strptime(value.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def test_the_bucket_is_created_with_object_lock_on_first_use(s3_backend: Backend) -> None:
    raw, bucket = s3_backend.raw, s3_backend.bucket  # type: ignore[attr-defined]
    assert not raw.bucket_exists(bucket)  # building the store did no I/O
    s3_backend.store.put(io.BytesIO(b"first"))
    assert raw.bucket_exists(bucket)
    assert raw.get_bucket_versioning(bucket).status == "Enabled"
    raw.get_object_lock_config(bucket)  # raises when the bucket has no object lock


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
@pytest.mark.parametrize("size", [1000, 6 * 1024 * 1024], ids=["single-put", "multipart"])
def test_a_retained_blob_cannot_be_deleted(s3_backend: Backend, mode: str, size: int) -> None:
    if mode == "COMPLIANCE" and not s3_backend.endpoint.is_moto:  # type: ignore[attr-defined]
        pytest.skip("COMPLIANCE objects on a real MinIO outlive the test run: GOVERNANCE only there")
    raw, bucket = s3_backend.raw, s3_backend.bucket  # type: ignore[attr-defined]
    store = s3_backend.make(retention_days=1, retention_mode=mode)
    data = os.urandom(size)
    ref = store.put(io.BytesIO(data))
    key = blob_key(ref.sha256)
    head = raw.stat_object(bucket, key)
    assert head.metadata["x-amz-object-lock-mode"] == mode
    assert _until(head.metadata) > datetime.now(timezone.utc) + timedelta(hours=23)

    with pytest.raises(S3Error) as refused:
        raw.remove_object(bucket, key, version_id=head.version_id)
    assert refused.value.code == "AccessDenied"
    # Overwriting makes a new version on top; the retained one is untouched.
    raw.put_object(bucket, key, io.BytesIO(b"forged"), 6)
    original = raw.get_object(bucket, key, version_id=head.version_id)
    try:
        assert original.read() == data
    finally:
        original.close()
        original.release_conn()


def test_storing_an_unretained_blob_again_retains_it(s3_backend: Backend) -> None:
    raw, bucket = s3_backend.raw, s3_backend.bucket  # type: ignore[attr-defined]
    data = b"stored before retention was configured"
    ref = s3_backend.store.put(io.BytesIO(data))
    assert "x-amz-object-lock-mode" not in raw.stat_object(bucket, blob_key(ref.sha256)).metadata
    s3_backend.make(retention_days=3).put(io.BytesIO(data))
    head = raw.stat_object(bucket, blob_key(ref.sha256))
    assert head.metadata["x-amz-object-lock-mode"] == "GOVERNANCE"
    assert _until(head.metadata) > datetime.now(timezone.utc) + timedelta(days=2)
    assert s3_backend.copies(ref.sha256) == 1


def test_retention_on_a_bucket_without_object_lock_is_a_clear_error(moto_s3: S3Endpoint) -> None:
    from minio import Minio
    from storage.minio_store import MinioBlobStore

    Minio(moto_s3.endpoint, moto_s3.access_key, moto_s3.secret_key, secure=False).make_bucket("lt-no-lock")
    store = MinioBlobStore.from_settings(s3_settings(moto_s3, "lt-no-lock", retention_days=1))
    with pytest.raises(BlobStoreUnavailable, match="without object lock"):
        store.put(io.BytesIO(b"x"))


@pytest.fixture
def app_on_dead_s3(settings, caplog):  # type: ignore[no-untyped-def]
    from app import create_app
    from settings import S3Settings

    dead = S3Settings(endpoint=f"127.0.0.1:{closed_port()}", access_key="dead-access-key",
                      secret_key="dead-secret-key")
    app: Flask = create_app(settings.with_changes(s3=dead))  # start-up must not need the server

    @app.post("/_test/upload")
    def upload():  # type: ignore[no-untyped-def]
        from flask import request

        return {"sha256": store_from_app(app).put(request.stream).sha256}

    yield app
    app.extensions["lienthong.engine"].dispose()
    assert "dead-secret-key" not in caplog.text and "dead-access-key" not in caplog.text


def test_readyz_names_the_blob_store_when_s3_is_down(app_on_dead_s3: Flask) -> None:
    response = app_on_dead_s3.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "schema": "ok", "blob_store": "unavailable",
                                             "disk": "ok", "stored_files": "ok"}  # nothing stored yet to miss
    assert response.headers["Retry-After"] == "5"


def test_an_upload_while_s3_is_down_is_a_503(app_on_dead_s3: Flask) -> None:
    response = app_on_dead_s3.test_client().post("/_test/upload", data=b"%PDF-1.7 ...")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "storage_unavailable"


def test_readyz_is_ready_with_a_live_s3(settings, moto_s3: S3Endpoint) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(settings.with_changes(s3=s3_settings(moto_s3, "lt-ready")))
    try:
        assert app.test_client().get("/readyz").status_code == 200
        store = store_from_app(app)
        assert read_bytes(store, store.put(io.BytesIO(os.urandom(3 * 1024 * 1024))).sha256)
        assert store.spool_dir == settings.data_dir / "spool"  # the data disk, not a tmpfs /tmp
        assert store.spool_dir.is_dir() and list(store.spool_dir.iterdir()) == []
    finally:
        app.extensions["lienthong.engine"].dispose()
