"""Blob store backends for the contract suite: the filesystem store, the MinIO store against
moto's S3 server (real HTTP, started once per session), and a real MinIO when
``LIENTHONG_TEST_S3_ENDPOINT`` (+ ``_ACCESS_KEY``/``_SECRET_KEY``) is set."""
from __future__ import annotations

import io
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from minio import Minio
from minio.error import S3Error

from settings import S3Settings
from storage.blobs import STORE_MARKER, BlobStore, blob_key
from storage.filesystem import FilesystemBlobStore
from storage.minio_store import MinioBlobStore
from tests.s3server import S3Endpoint, moto_s3_server, real_s3_from_env

REAL_S3 = real_s3_from_env()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Endpoint]:
    with moto_s3_server() as endpoint:
        yield endpoint


def closed_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def s3_settings(endpoint: S3Endpoint, bucket: str, **changes: object) -> S3Settings:
    return S3Settings(endpoint=endpoint.endpoint, access_key=endpoint.access_key,
                      secret_key=endpoint.secret_key, bucket=bucket, secure=endpoint.secure,
                      **changes)  # type: ignore[arg-type]


@dataclass
class Backend:
    """A store under test plus what a test needs to reach behind its back."""
    name: str
    store: BlobStore
    # Make the new store of the same backend (e.g. with retention) on the same storage.
    make: Callable[..., BlobStore]
    corrupt: Callable[[str, bytes], None]      # replace the stored bytes of a blob
    copies: Callable[[str], int]               # how many stored copies/versions a blob has
    leftovers: Callable[[], list[str]]          # everything stored that is not a complete blob
    all_keys: Callable[[], list[str]]


def _filesystem_backend(root: Path) -> Backend:
    def corrupt(sha256: str, data: bytes) -> None:
        path = root / blob_key(sha256)
        path.chmod(0o644)
        path.write_bytes(data)

    def all_files() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != STORE_MARKER)

    return Backend(
        name="filesystem",
        store=FilesystemBlobStore(root),
        make=lambda: FilesystemBlobStore(root),
        corrupt=corrupt,
        copies=lambda sha: int((root / blob_key(sha)).is_file()),
        leftovers=lambda: [f for f in all_files() if not f.startswith("sha256/")],
        all_keys=all_files,
    )


def _s3_backend(name: str, endpoint: S3Endpoint) -> tuple[Backend, Callable[[], None]]:
    bucket = f"lt-test-{uuid.uuid4().hex[:16]}"
    raw = Minio(endpoint.endpoint, endpoint.access_key, endpoint.secret_key, secure=endpoint.secure)

    def make(**changes: object) -> MinioBlobStore:
        return MinioBlobStore.from_settings(s3_settings(endpoint, bucket, **changes))

    def corrupt(sha256: str, data: bytes) -> None:
        # An unretained bucket takes the overwrite; with versioning it becomes the latest version.
        raw.put_object(bucket, blob_key(sha256), io.BytesIO(data), len(data))

    def versions(prefix: str = "") -> list:  # type: ignore[type-arg]
        if not raw.bucket_exists(bucket):
            return []
        return [o for o in raw.list_objects(bucket, prefix=prefix or None, recursive=True, include_version=True)
                if o.object_name != STORE_MARKER]

    def leftovers() -> list[str]:
        uploads = raw._list_multipart_uploads(bucket) if raw.bucket_exists(bucket) else None  # noqa: SLF001
        pending = [u.object_name for u in (uploads.uploads if uploads else [])]
        return [o.object_name for o in versions() if not o.object_name.startswith("sha256/")] + pending

    def cleanup() -> None:
        # Best effort: retained versions cannot be removed (that is the point).
        try:
            for obj in versions():
                try:
                    raw.remove_object(bucket, obj.object_name, version_id=obj.version_id)
                except S3Error:
                    pass
            raw.remove_bucket(bucket)
        except S3Error:
            pass

    backend = Backend(
        name=name,
        store=make(),
        make=make,
        corrupt=corrupt,
        copies=lambda sha: len(versions(blob_key(sha))),
        leftovers=leftovers,
        all_keys=lambda: sorted(o.object_name for o in versions()),
    )
    backend.raw = raw  # type: ignore[attr-defined]
    backend.bucket = bucket  # type: ignore[attr-defined]
    backend.endpoint = endpoint  # type: ignore[attr-defined]
    return backend, cleanup


BACKENDS = [
    "filesystem",
    "s3-moto",
    pytest.param("s3-minio", marks=pytest.mark.skipif(
        REAL_S3 is None, reason="set LIENTHONG_TEST_S3_ENDPOINT (+ keys) to test a real MinIO")),
]
S3_BACKENDS = BACKENDS[1:]


def _s3_fixture(request: pytest.FixtureRequest) -> Iterator[Backend]:
    endpoint = request.getfixturevalue("moto_s3") if request.param == "s3-moto" else REAL_S3
    made, cleanup = _s3_backend(request.param, endpoint)
    try:
        yield made
    finally:
        cleanup()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "filesystem":
        yield _filesystem_backend(tmp_path / "blobs")
    else:
        yield from _s3_fixture(request)


@pytest.fixture(params=S3_BACKENDS)
def s3_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    yield from _s3_fixture(request)
