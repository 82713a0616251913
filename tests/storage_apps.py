"""An app on each blob backend (the filesystem store, moto's S3 server over HTTP) and a way
to lose its store behind its back, for the storage-trust tests."""
from __future__ import annotations

import shutil
import uuid
from typing import Any, Iterator

import pytest
from minio import Minio

from settings import S3Settings, Settings
from tests.s3server import S3Endpoint, moto_s3_server

BACKENDS = ["filesystem", "s3-moto"]


def app_on(backend: str, settings: Settings, moto: S3Endpoint | None) -> Any:
    from app import create_app

    if backend == "filesystem":
        return create_app(settings)
    assert moto is not None
    s3 = S3Settings(endpoint=moto.endpoint, access_key=moto.access_key, secret_key=moto.secret_key,
                    bucket=f"lt-trust-{uuid.uuid4().hex[:12]}", secure=False)
    return create_app(settings.with_changes(s3=s3))


def lose_store(app: Any) -> None:
    """The blob folder wiped, or the bucket deleted with everything in it."""
    settings = app.extensions["lienthong.settings"]
    if settings.s3 is None:
        shutil.rmtree(settings.blob_dir)
        return
    s3 = settings.s3
    raw = Minio(s3.endpoint, s3.access_key, s3.secret_key, secure=s3.secure)
    for obj in raw.list_objects(s3.bucket, recursive=True, include_version=True):
        raw.remove_object(s3.bucket, obj.object_name, version_id=obj.version_id)
    raw.remove_bucket(s3.bucket)


@pytest.fixture(scope="module")
def moto() -> Iterator[S3Endpoint]:
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture(params=BACKENDS)
def store_app(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Any]:
    """The app on each backend; import this fixture (and ``moto``) into the test module."""
    moto = request.getfixturevalue("moto") if request.param != "filesystem" else None
    app = app_on(request.param, settings, moto)
    yield app
    app.extensions["lienthong.services"].close()
