"""One contract, every blob store: the filesystem store, the MinIO store over real HTTP
against moto's S3 server, and a real MinIO when LIENTHONG_TEST_S3_ENDPOINT is set."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.blobs import (
    BlobCorrupted,
    BlobNotFound,
    BlobStoreUnavailable,
    StagedUpload,
    blob_key,
    read_bytes,
)
from storage.filesystem import FilesystemBlobStore
from tests.integration.storage.conftest import Backend
from tests.integration.storage.rss_probe import MiB, UnknownLengthStream

REPO = Path(__file__).resolve().parents[3]


class FailingStream:
    """A source that dies half-way, the way an upload does when the client goes away."""

    def __init__(self, chunks: int, error: BaseException) -> None:
        self._chunks = chunks
        self._error = error

    def read(self, size: int = -1) -> bytes:
        if self._chunks == 0:
            raise self._error
        self._chunks -= 1
        return os.urandom(MiB)


def read_streaming(store, sha256: str) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    digest, size = hashlib.sha256(), 0
    with store.open(sha256) as reader:
        while chunk := reader.read(MiB):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def test_round_trip(backend: Backend) -> None:
    data = os.urandom(300_000)
    ref = backend.store.put(io.BytesIO(data))
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size == len(data)
    assert read_bytes(backend.store, ref.sha256) == data
    assert backend.store.exists(ref.sha256)
    assert backend.store.stat(ref.sha256) == ref
    assert backend.all_keys() == [blob_key(ref.sha256)]


def test_a_large_blob_round_trips_through_the_multipart_path(backend: Backend) -> None:
    data = os.urandom(17 * MiB)  # four 5 MiB parts
    ref = backend.store.put(io.BytesIO(data))
    assert read_streaming(backend.store, ref.sha256) == (hashlib.sha256(data).hexdigest(), len(data))


def test_same_bytes_are_stored_once(backend: Backend) -> None:
    data = b"%PDF-1.7 the same document, sent to 500 communes"
    first = backend.store.put(io.BytesIO(data))
    second = backend.store.put(io.BytesIO(data))
    assert first == second
    assert backend.copies(first.sha256) == 1  # on S3: one object version, not two
    assert backend.all_keys() == [blob_key(first.sha256)]


def test_empty_blob(backend: Backend) -> None:
    ref = backend.store.put(io.BytesIO(b""))
    assert ref == backend.store.stat(hashlib.sha256(b"").hexdigest())
    assert ref.size == 0
    assert read_bytes(backend.store, ref.sha256) == b""


def test_unknown_hash_is_not_found(backend: Backend) -> None:
    unknown = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(BlobNotFound):
        backend.store.open(unknown)
    with pytest.raises(BlobNotFound):
        backend.store.stat(unknown)
    assert not backend.store.exists(unknown)


def test_a_malformed_hash_is_refused(backend: Backend) -> None:
    with pytest.raises(ValueError):
        backend.store.open("../../etc/passwd")


@pytest.mark.parametrize("damage", ["same length", "truncated", "longer"])
def test_a_corrupted_blob_is_detected_on_read(backend: Backend, damage: str) -> None:
    data = os.urandom(2 * MiB + 17)
    ref = backend.store.put(io.BytesIO(data))
    flipped = bytearray(data)
    flipped[MiB + 3] ^= 0x01
    bad = {"same length": bytes(flipped), "truncated": data[:-1], "longer": data + b"\0"}[damage]
    backend.corrupt(ref.sha256, bad)
    with pytest.raises(BlobCorrupted):
        read_bytes(backend.store, ref.sha256)
    with pytest.raises(BlobCorrupted):
        read_streaming(backend.store, ref.sha256)


def test_storing_a_damaged_blob_again_heals_it(backend: Backend) -> None:
    data = os.urandom(1000)
    ref = backend.store.put(io.BytesIO(data))
    backend.corrupt(ref.sha256, data[:10])
    assert backend.store.put(io.BytesIO(data)) == ref
    assert read_bytes(backend.store, ref.sha256) == data


@pytest.mark.parametrize("error", [RuntimeError("boom"), ConnectionResetError("client went away")],
                         ids=["runtime-error", "os-error"])
def test_a_source_failing_half_way_stores_nothing(backend: Backend, error: BaseException) -> None:
    backend.store.put(io.BytesIO(b"something else, so the store is set up"))
    before = backend.all_keys()
    with pytest.raises(type(error)):  # the caller's error, not "store unavailable"
        backend.store.put(FailingStream(3, error))  # type: ignore[arg-type]
    assert backend.all_keys() == before
    assert backend.leftovers() == []


def test_an_unknown_length_50_mb_stream_is_stored_with_bounded_memory(backend: Backend, tmp_path: Path) -> None:
    size = 50 * MiB
    if backend.name == "filesystem":
        spec: dict = {"backend": "filesystem", "root": str(backend.store.root)}  # type: ignore[attr-defined]
    else:
        ep = backend.endpoint  # type: ignore[attr-defined]
        spec = {"backend": "s3", "endpoint": ep.endpoint, "access_key": ep.access_key,
                "secret_key": ep.secret_key, "bucket": backend.bucket, "secure": ep.secure}  # type: ignore[attr-defined]
    spec["size"] = size
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.storage.rss_probe"], cwd=REPO,
        env={**os.environ, "LT_RSS_PROBE": json.dumps(spec)}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["size"] == size
    # A store that held the whole stream would grow by ≥ 50 MiB.
    assert report["peak_rss_growth"] < 25 * MiB, report
    expected = UnknownLengthStream(size)
    digest = hashlib.sha256()
    while chunk := expected.read(MiB):
        digest.update(chunk)
    assert report["sha256"] == digest.hexdigest()
    assert read_streaming(backend.store, report["sha256"]) == (digest.hexdigest(), size)


# -- an unreachable store -------------------------------------------------------------------

def test_an_unreachable_store_raises_unavailable(unreachable) -> None:  # type: ignore[no-untyped-def]
    sha = hashlib.sha256(b"x").hexdigest()
    for call in (lambda: unreachable.put(io.BytesIO(b"x")), lambda: unreachable.open(sha),
                 lambda: unreachable.stat(sha), unreachable.check):
        with pytest.raises(BlobStoreUnavailable) as caught:
            call()
        assert "unreachable-secret" not in str(caught.value)
        assert "unreachable-access" not in str(caught.value)


@pytest.fixture(params=["filesystem", "s3"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "filesystem":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the blob folder should be")
        return FilesystemBlobStore(blocker / "blobs")
    from settings import S3Settings
    from storage.minio_store import MinioBlobStore
    from tests.integration.storage.conftest import closed_port

    return MinioBlobStore.from_settings(S3Settings(
        endpoint=f"127.0.0.1:{closed_port()}", access_key="unreachable-access",
        secret_key="unreachable-secret"))


def test_temp_files_left_by_a_killed_process_are_swept(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    (tmp_path / "blobs" / "tmp").mkdir(parents=True)
    old, fresh = tmp_path / "blobs" / "tmp" / "put-killed", tmp_path / "blobs" / "tmp" / "put-in-progress"
    old.write_bytes(b"half a PDF")
    fresh.write_bytes(b"another process is writing this")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    store.put(io.BytesIO(b"x"))
    assert not old.exists()
    assert fresh.exists()


# --- staged uploads: written once where the store keeps them, hashed as they are written ---

def _staged(backend: Backend, data: bytes):  # type: ignore[no-untyped-def]
    staged = backend.store.stage()
    for start in range(0, len(data), 64 * 1024):  # the way Werkzeug's parser writes a file part
        staged.write(data[start:start + 64 * 1024])
    staged.seek(0)
    return staged


def test_a_staged_upload_is_stored_without_a_second_copy(backend: Backend) -> None:
    data = os.urandom(3 * MiB + 5)
    staged = _staged(backend, data)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    inode = os.fstat(staged.fileno()).st_ino
    ref = backend.store.put(staged)
    assert ref.sha256 == hashlib.sha256(data).hexdigest() and ref.size == len(data)
    if backend.name == "filesystem":  # the very file the upload was written into, renamed
        assert isinstance(backend.store, FilesystemBlobStore)
        assert (backend.store.root / blob_key(ref.sha256)).stat().st_ino == inode
        with pytest.raises(io.UnsupportedOperation):
            staged.write(b"a stored blob is never written again")
    staged.close()
    assert read_bytes(backend.store, ref.sha256) == data
    assert backend.leftovers() == []
    assert not os.path.exists(staged.path) or staged.taken


def test_a_staged_upload_rewritten_in_place_is_hashed_again(backend: Backend) -> None:
    data = bytearray(os.urandom(700_000))
    staged = _staged(backend, bytes(data))
    staged.seek(10)
    staged.write(b"XYZ")  # not an append: the running hash no longer says what the file holds
    data[10:13] = b"XYZ"
    assert staged.sha256 is None
    staged.seek(0)
    with staged:
        ref = backend.store.put(staged)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert read_bytes(backend.store, ref.sha256) == bytes(data)


def test_a_staged_upload_never_stored_leaves_nothing(backend: Backend) -> None:
    backend.store.put(io.BytesIO(b"something else, so the store is set up"))
    before = backend.all_keys()
    staged = _staged(backend, os.urandom(600_000))  # e.g. refused: not a PDF
    path = staged.path
    assert os.path.exists(path)
    staged.close()
    assert not os.path.exists(path)
    assert backend.all_keys() == before and backend.leftovers() == []


def test_a_staged_upload_of_stored_bytes_is_stored_once(backend: Backend) -> None:
    data = os.urandom(800_000)
    ref = backend.store.put(io.BytesIO(data))
    with _staged(backend, data) as staged:
        assert backend.store.put(staged) == ref
        path = staged.path
    assert not os.path.exists(path)
    assert backend.copies(ref.sha256) == 1
    assert backend.leftovers() == []


class _ShortWrites(io.FileIO):
    """A file that takes at most 1000 bytes a call, as a raw file may when its disk fills up."""

    def write(self, data, /):  # type: ignore[no-untyped-def, override]
        return super().write(memoryview(data)[:1000])


class _ShortStaged(StagedUpload, _ShortWrites):
    pass


def test_a_staged_write_the_file_takes_in_parts_is_written_whole(tmp_path: Path) -> None:
    data = os.urandom(64 * 1024 + 7)
    staged = _ShortStaged(str(tmp_path))
    assert staged.write(data) == len(data)  # what Werkzeug's parser takes for granted
    staged.seek(0)
    assert staged.read() == data and staged.sha256 == hashlib.sha256(data).hexdigest()
    staged.close()
