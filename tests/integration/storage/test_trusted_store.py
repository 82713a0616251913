"""Issue 12 item 3 at the store level, every backend alike: a lost folder or bucket is not
re-created silently, a put of bytes already stored verifies them (and heals a damaged blob of
the right size), the listing and deletion the garbage collector uses."""
from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import pytest

from storage.blobs import BlobStoreMissing, blob_key, read_bytes
from storage.filesystem import FilesystemBlobStore
from tests.integration.storage.conftest import Backend


def _lose_the_store(backend: Backend) -> None:
    """The folder wiped, or the bucket deleted (as an operator's mistake would)."""
    if backend.name == "filesystem":
        shutil.rmtree(backend.store.root)  # type: ignore[attr-defined]
        return
    raw, bucket = backend.raw, backend.bucket  # type: ignore[attr-defined]
    for obj in raw.list_objects(bucket, recursive=True, include_version=True):
        raw.remove_object(bucket, obj.object_name, version_id=obj.version_id)
    raw.remove_bucket(bucket)


def test_a_lost_store_is_not_recreated_while_the_database_refers_to_blobs(backend: Backend) -> None:
    referenced = {"yes": True}
    store = backend.make()
    store.may_create = lambda: not referenced["yes"]  # type: ignore[attr-defined]
    store.initialize()
    store.put(io.BytesIO(b"a stored document"))
    _lose_the_store(backend)
    store = backend.make()  # a new process: nothing cached
    store.may_create = lambda: not referenced["yes"]  # type: ignore[attr-defined]
    with pytest.raises(BlobStoreMissing):
        store.put(io.BytesIO(b"the next upload"))
    with pytest.raises(BlobStoreMissing):
        store.check()
    assert backend.all_keys() == []  # nothing re-created, nothing written
    store.initialize()  # the explicit way (flask storage init)
    ref = store.put(io.BytesIO(b"the next upload"))
    assert read_bytes(store, ref.sha256) == b"the next upload"


def test_a_new_store_is_created_when_nothing_is_referenced(backend: Backend) -> None:
    store = backend.make()
    store.may_create = lambda: True  # type: ignore[attr-defined]
    store.check()
    ref = store.put(io.BytesIO(b"first document of a new installation"))
    assert backend.all_keys() == [blob_key(ref.sha256)]


def test_a_same_size_corruption_is_healed_by_storing_the_bytes_again(backend: Backend) -> None:
    data = os.urandom(5000)
    ref = backend.store.put(io.BytesIO(data))
    flipped = bytearray(data)
    flipped[4999] ^= 0x01  # one bit, the size unchanged: a size check alone would keep it
    backend.corrupt(ref.sha256, bytes(flipped))
    assert backend.store.put(io.BytesIO(data)) == ref
    assert read_bytes(backend.store, ref.sha256) == data


def test_listing_and_deleting_blobs(backend: Backend) -> None:
    kept = backend.store.put(io.BytesIO(b"kept"))
    gone = backend.store.put(io.BytesIO(b"gone"))
    listed = {b.sha256: b for b in backend.store.list_blobs()}
    assert set(listed) == {kept.sha256, gone.sha256}
    assert listed[gone.sha256].size == 4
    assert abs(time.time() - listed[gone.sha256].modified_at.timestamp()) < 60
    assert backend.store.delete(gone.sha256)
    assert [b.sha256 for b in backend.store.list_blobs()] == [kept.sha256]
    assert backend.copies(gone.sha256) == 0  # every version, not hidden behind a delete marker
    assert read_bytes(backend.store, kept.sha256) == b"kept"


def test_a_repeated_put_refreshes_the_blob_time(backend: Backend) -> None:
    ref = backend.store.put(io.BytesIO(b"uploaded long ago, then again"))
    first = next(iter(backend.store.list_blobs())).modified_at
    if backend.name != "filesystem":
        backend.store.refresh_after = __import__("datetime").timedelta(0)  # type: ignore[attr-defined]
    time.sleep(1.2)  # S3's LastModified has whole seconds
    backend.store.put(io.BytesIO(b"uploaded long ago, then again"))
    again = {b.sha256: b for b in backend.store.list_blobs()}[ref.sha256].modified_at
    assert again > first


def test_a_full_filesystem_answers_full_and_leaves_no_partial_file(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.system(f"mount -t tmpfs -o size=1m,mode=0700 tmpfs {mount} 2>/dev/null") != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        from storage.blobs import BlobStoreFull

        store = FilesystemBlobStore(mount / "blobs")
        small = store.put(io.BytesIO(b"fits"))
        with pytest.raises(BlobStoreFull):
            store.put(io.BytesIO(os.urandom(2 * 1024 * 1024)))  # twice the filesystem
        files = sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file())
        assert files == ["blobs/lienthong-store", f"blobs/{blob_key(small.sha256)}"]
        assert store.put(io.BytesIO(b"after the failure, room again")).size == 29
    finally:
        os.system(f"umount {mount}")


def test_deleting_a_retained_blob_keeps_it_and_says_so(s3_backend: Backend) -> None:
    store = s3_backend.make(retention_days=1)
    ref = store.put(io.BytesIO(b"a signed document under retention"))
    assert store.delete(ref.sha256) is False  # storage gc reports it as kept by retention
    assert read_bytes(store, ref.sha256) == b"a signed document under retention"
