"""Content-addressed blob storage: one small interface, two backends.

Every blob is stored under ``sha256/ab/cd/<hex>`` and is written once: putting the same
bytes twice stores them once. Reads check the hash as the bytes go by, so a corrupted blob
raises :class:`BlobCorrupted` instead of being served silently.

- :class:`storage.filesystem.FilesystemBlobStore` — the embedded default (a folder on local
  disk). It is for one machine: several app servers need the MinIO store.
- :class:`storage.minio_store.MinioBlobStore` — MinIO or any S3 server, through the ``minio``
  SDK, with optional object-lock retention so that a stored signed document cannot be deleted.

``storage.factory.create_blob_store`` is the one place that picks a backend from the settings.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, BinaryIO, Callable, Iterator, Protocol

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

CHUNK = 1024 * 1024
STAGED_PREFIX = "put-"  # like a put's own temporary file: the stale-file sweep removes a killed upload's
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """Base class of the blob stores' errors."""


class BlobNotFound(BlobError, KeyError):
    pass


class BlobCorrupted(BlobError):
    """The stored bytes do not match their hash (or size): never serve them."""


class BlobStoreUnavailable(BlobError):
    """The store did not answer (server down, network, permissions). HTTP: 503."""


class BlobStoreMissing(BlobStoreUnavailable):
    """The folder or bucket is gone, or is a new empty one (its marker is missing), while the
    database may refer to blobs: it is never re-created silently (that would hide the loss);
    an operator restores it or runs ``flask --app app storage init``. HTTP: 503, no Retry-After."""


class BlobStoreFull(BlobError):
    """No room left where the store writes (ENOSPC, a quota, a full MinIO). HTTP: 507. Nothing
    partial stays behind."""


# Written by ``initialize``: a store holding it was created on purpose. A folder or a bucket
# without it is a lost store replaced by an empty one, not a store to write into.
STORE_MARKER = "lienthong-store"
# errno values that mean "no room", not "not answering"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def write_error(exc: OSError, what: str) -> BlobError:
    """The blob error an OSError while writing stands for: a full disk or the store failing."""
    if exc.errno in _FULL_ERRNOS:
        return BlobStoreFull(f"{what}: no space left ({exc.strerror})")
    return BlobStoreUnavailable(f"{what}: {exc.strerror}")


@dataclass(frozen=True)
class StoredBlob:
    """One blob as the store lists it, for the garbage collector."""
    sha256: str
    size: int
    modified_at: datetime  # aware, UTC: the last put of these bytes (a repeated put refreshes it)


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int


def blob_key(sha256: str) -> str:
    if not _HEX64.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(Protocol):
    def put(self, stream: IO[bytes]) -> BlobRef:
        """Store the stream's bytes (read in chunks, never whole) and return their address."""

    def stage(self) -> "StagedUpload":
        """An empty :class:`StagedUpload` in the store's temporary folder, for an upload to be
        written into; ``put`` of it then stores the bytes without reading them again."""

    def open(self, sha256: str) -> BinaryIO:
        """A reader over the blob that raises BlobCorrupted if the bytes do not match."""

    def exists(self, sha256: str) -> bool: ...

    def stat(self, sha256: str) -> BlobRef:
        """Size of a stored blob; BlobNotFound if absent."""

    def check(self) -> None:
        """Raise BlobStoreUnavailable unless the store answers (readiness probe), and
        BlobStoreMissing when its folder or bucket is gone or was replaced by an empty one."""

    def initialize(self) -> None:
        """Create the folder or bucket and its marker: the one explicit way a store is made."""

    def list_blobs(self) -> Iterator[StoredBlob]:
        """Every stored blob (not the marker, not temporary files)."""

    def delete(self, sha256: str) -> bool:
        """Remove a blob (every version of it); False when the store keeps it (retention)."""


def read_bytes(store: BlobStore, sha256: str) -> bytes:
    """The whole blob, hash-checked. For small blobs and tests; stream large ones."""
    with store.open(sha256) as reader:
        return reader.read()


class RawReader(Protocol):
    """What :class:`HashCheckingReader` reads from: an unbuffered file, an HTTP response."""

    def readinto(self, buffer: WriteableBuffer, /) -> int | None: ...

    def close(self) -> None: ...


class HashCheckingReader(io.RawIOBase):
    """Wraps a raw stream and checks the SHA-256 and size it was promised. When the size is
    known the check runs before the final chunk is returned, so the last bytes of a corrupted
    blob are never released."""

    def __init__(self, raw: RawReader, expected_sha256: str, expected_size: int | None,
                 on_close: Callable[[], None] | None = None) -> None:
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

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if self._done:
            return 0
        view = memoryview(buffer).cast("B")
        n = self._raw.readinto(view)
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
        parts: list[bytes] = []
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


class StagedUpload(io.FileIO):
    """A temporary file an incoming upload is written into, hashed as it is written: the
    one pass over the bytes. Created by a store's ``stage()`` in the store's own temporary
    folder, so that ``put`` of it moves the file into place (filesystem) or sends it as it is
    (S3) without copying or hashing it again. A write that is not an append makes
    :attr:`sha256` None: ``put`` then hashes the file itself, as it does any stream.
    Removed on close unless a store took it; once taken, it refuses writes (it is a blob)."""

    def __init__(self, folder: str) -> None:
        fd, name = tempfile.mkstemp(dir=folder, prefix=STAGED_PREFIX)
        super().__init__(fd, "r+b", closefd=True)
        self.path = name
        self.taken = False
        self._digest: "hashlib._Hash | None" = hashlib.sha256()
        self._written = 0

    def write(self, data: "ReadableBuffer", /) -> int:
        if self.taken:
            raise io.UnsupportedOperation("a stored blob is never written again")
        if self._digest is not None and self.tell() != self._written:
            self._digest = None  # not an append: the running hash no longer says what the file holds
        view = memoryview(data).cast("B")
        written = 0
        try:
            # a raw file may take fewer bytes than given (a disk filling up): the rest is written
            # here, since Werkzeug's parser ignores the count and the hash would say "complete"
            while written < len(view):
                taken = super().write(view[written:])
                if not taken:
                    raise OSError(errno.ENOSPC, "no byte written")
                written += taken
        except OSError as exc:
            # a full disk mid-upload: the partial file goes at once (nothing half-written stays),
            # and the caller hears the store's error (507 storage_full), not an OSError (500)
            self.close()
            raise write_error(exc, "staging an upload") from exc
        if self._digest is not None and written:
            self._digest.update(view)
            self._written += written
        return written

    @property
    def sha256(self) -> str | None:
        """The hex digest of the bytes written, or None when it cannot be trusted."""
        return None if self._digest is None else self._digest.hexdigest()

    @property
    def written(self) -> int:
        return self._written

    def take(self, path: str) -> None:
        """A store moved the file to ``path``: it is a blob now, kept when this is closed."""
        self.taken = True
        self.path = path

    def close(self) -> None:
        try:
            super().close()
        finally:
            if not self.taken:
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass


def staged_ref(stream: IO[bytes]) -> BlobRef | None:
    """The address of a :class:`StagedUpload`'s bytes when its running hash can be trusted
    (it was only appended to, and its size on disk is what was written), else None."""
    if not isinstance(stream, StagedUpload) or stream.closed or stream.taken or stream.sha256 is None:
        return None
    if os.fstat(stream.fileno()).st_size != stream.written:
        return None
    return BlobRef(stream.sha256, stream.written)


def hash_into(stream: IO[bytes], out: IO[bytes]) -> tuple["hashlib._Hash", int]:
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
            raise write_error(exc, "cannot write the blob's bytes") from None


def matches(store: BlobStore, sha256: str) -> bool:
    """True when the stored blob reads back whole and hashes to its name. A put of bytes
    already stored calls this rather than trusting a size: a damaged blob of the right size
    would otherwise stay damaged however often its bytes are uploaded again."""
    try:
        with store.open(sha256) as reader:
            while reader.read(CHUNK):
                pass
    except (BlobNotFound, BlobCorrupted):
        return False
    return True
