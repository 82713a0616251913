"""Content-addressed blob storage: one small interface, two backends.

Every blob is stored under ``sha256/ab/cd/<hex>`` and is written once: putting the same
bytes twice stores them once. Reads check the hash as the bytes go by, so a corrupted blob
raises :class:`BlobCorrupted` instead of being served silently.

- :class:`FilesystemBlobStore` — the embedded default (a folder on local disk). It is for
  one machine: several app servers need the MinIO store.
- :class:`storage.minio_store.MinioBlobStore` — MinIO or any S3 server, through the ``minio`` SDK, with
  optional object-lock retention so that a stored signed document cannot be deleted.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

CHUNK = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """Base class of the blob stores' errors."""


class BlobNotFound(BlobError, KeyError):
    pass


class BlobCorrupted(BlobError):
    """The stored bytes do not match their hash (or size): never serve them."""


class BlobStoreUnavailable(BlobError):
    """The store did not answer (server down, network, permissions). HTTP: 503."""


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int


def blob_key(sha256: str) -> str:
    if not _HEX64.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(Protocol):
    def put(self, stream: BinaryIO) -> BlobRef:
        """Store the stream's bytes (read in chunks, never whole) and return their address."""

    def open(self, sha256: str) -> BinaryIO:
        """A reader over the blob that raises BlobCorrupted if the bytes do not match."""

    def exists(self, sha256: str) -> bool: ...

    def stat(self, sha256: str) -> BlobRef:
        """Size of a stored blob; BlobNotFound if absent."""

    def check(self) -> None:
        """Raise BlobStoreUnavailable unless the store answers (readiness probe)."""


def read_bytes(store: BlobStore, sha256: str) -> bytes:
    """The whole blob, hash-checked. For small blobs and tests; stream large ones."""
    with store.open(sha256) as reader:
        return reader.read()


class HashCheckingReader(io.RawIOBase):
    """Wraps a raw stream and checks the SHA-256 and size it was promised. When the size is
    known the check runs before the final chunk is returned, so the last bytes of a corrupted
    blob are never released."""

    def __init__(self, raw: BinaryIO, expected_sha256: str, expected_size: int | None,
                 on_close=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self._raw = raw
        self._hash = hashlib.sha256()
        self._expected = expected_sha256
        self._expected_size = expected_size
        self._size = 0
        self._done = False
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._done:
            return 0
        view = memoryview(buffer).cast("B")
        n = self._raw.readinto(view)  # type: ignore[attr-defined]
        if not n:
            self._finish()
            return 0
        self._hash.update(view[:n])
        self._size += n
        if self._expected_size is not None and self._size > self._expected_size:
            self._done = True
            raise BlobCorrupted(f"blob {self._expected} is longer than recorded")
        if self._size == self._expected_size:
            # Check before handing out the last bytes: a reader streaming to a client with a
            # Content-Length never delivers a complete corrupted file, the transfer fails.
            self._finish()
        return n

    def readall(self) -> bytes:
        # RawIOBase.readall reads 8 KiB at a time: far too slow for blobs of many megabytes.
        parts = []
        while True:
            chunk = self.read(CHUNK)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    def _finish(self) -> None:
        self._done = True
        actual = self._hash.hexdigest()
        if actual != self._expected or (self._expected_size is not None and self._size != self._expected_size):
            raise BlobCorrupted(
                f"blob {self._expected} is corrupted: read {self._size} bytes hashing to {actual}"
            )

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
                if self._on_close:
                    self._on_close()
            finally:
                super().close()


def hash_into(stream: BinaryIO, out: BinaryIO) -> tuple["hashlib._Hash", int]:
    """Copy ``stream`` to ``out`` chunk by chunk, hashing as it goes. Errors of the source
    stream pass through unchanged (they are the caller's: a client that went away is not a
    store that is down); failures to write become BlobStoreUnavailable."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return digest, size
        digest.update(chunk)
        size += len(chunk)
        try:
            out.write(chunk)
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot write the blob's bytes: {exc.strerror}") from None


class FilesystemBlobStore:
    """Blobs as files under ``root``. Writes go to a temporary file in the same folder
    tree, are fsynced, then renamed into place: a crash never leaves a partial blob under a
    real key. For a single machine (development, small deployments)."""

    # A temporary file this old is the remains of a process killed mid-write (an exception
    # cleans up after itself); younger ones may belong to another process's upload.
    STALE_TEMP_SECONDS = 24 * 3600

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._swept = False

    def _path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def _ensure_dirs(self) -> None:
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot create {self._tmp}: {exc.strerror}") from None
        if not self._swept:
            self._swept = True
            self._sweep_stale_temp_files()

    def _sweep_stale_temp_files(self) -> None:
        cutoff = time.time() - self.STALE_TEMP_SECONDS
        for leftover in self._tmp.glob("put-*"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except OSError:
                pass  # another process swept it first, or it is not ours to remove

    def put(self, stream: BinaryIO) -> BlobRef:
        self._ensure_dirs()
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot write to {self._tmp}: {exc.strerror}") from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = hash_into(stream, out)
                try:
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as exc:
                    raise BlobStoreUnavailable(f"cannot write blob: {exc.strerror}") from None
            ref = BlobRef(digest.hexdigest(), size)
            final = self._path(ref.sha256)
            try:
                if _size_or_none(final) == size:
                    return ref
                # A file of the wrong size under this key is damaged: the rename replaces it.
                created = _make_dirs(final.parent)
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
                # The rename, and any shard folder made for it, must survive a power cut.
                # Deepest first: on ext4/XFS the first fsync commits the journal holding all
                # of these changes, so the others find nothing left to write.
                for folder in [final.parent] + [c.parent for c in reversed(created)]:
                    _fsync_dir(folder)
            except OSError as exc:
                raise BlobStoreUnavailable(f"cannot write blob: {exc.strerror}") from None
            return ref
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        path = self._path(sha256)
        try:
            raw = open(path, "rb", buffering=0)  # the BufferedReader below is the only buffer
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot read {path}: {exc.strerror}") from None
        size = os.fstat(raw.fileno()).st_size
        return io.BufferedReader(HashCheckingReader(raw, sha256, size), buffer_size=CHUNK)  # type: ignore[return-value]

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def stat(self, sha256: str) -> BlobRef:
        path = self._path(sha256)
        try:
            return BlobRef(sha256, path.stat().st_size)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot stat {path}: {exc.strerror}") from None

    def check(self) -> None:
        self._ensure_dirs()
        if not os.access(self._tmp, os.W_OK):
            raise BlobStoreUnavailable(f"{self._tmp} is not writable")


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _make_dirs(folder: Path) -> list[Path]:
    """mkdir -p; returns the folders it created, outermost first (their parents need an
    fsync: a shard folder lost in a crash would take the blob renamed into it along)."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    for created in missing:
        created.mkdir(exist_ok=True)
    return missing


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_blob_store(settings) -> BlobStore:  # type: ignore[no-untyped-def]
    """The one place that picks a backend from the settings."""
    if settings.s3 is not None:
        from storage.minio_store import MinioBlobStore

        return MinioBlobStore.from_settings(settings.s3, spool_dir=settings.data_dir / "spool")
    return FilesystemBlobStore(settings.blob_dir)


def init_app(app: Flask, settings) -> BlobStore:  # type: ignore[no-untyped-def]
    store = create_blob_store(settings)
    app.extensions["lienthong.blobs"] = store
    return store


def store_from_app(app: Flask | None = None) -> BlobStore:
    return (app or current_app).extensions["lienthong.blobs"]
