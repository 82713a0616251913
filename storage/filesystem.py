"""Blobs as files on local disk: the embedded default store (one machine only)."""
from __future__ import annotations

import io
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, BinaryIO, Callable, Iterator, cast

from storage.blobs import (
    CHUNK,
    STORE_MARKER,
    BlobNotFound,
    BlobRef,
    BlobStoreMissing,
    BlobStoreUnavailable,
    STAGED_PREFIX,
    HashCheckingReader,
    StagedUpload,
    StoredBlob,
    blob_key,
    hash_into,
    matches,
    staged_ref,
    write_error,
)


# Whatever the umask: blobs are the agencies' documents, for the service's user alone.
PRIVATE_DIR = 0o700
BLOB_FILE_MODE = 0o400  # written once, never rewritten (a damaged one is replaced by rename)

class FilesystemBlobStore:
    """Blobs as files under ``root``. Writes go to a temporary file in the same folder
    tree, are fsynced, then renamed into place: a crash never leaves a partial blob under a
    real key. For a single machine (development, small deployments)."""

    # A temporary file this old is the remains of a process killed mid-write (an exception
    # cleans up after itself); younger ones may belong to another process's upload.
    STALE_TEMP_SECONDS = 24 * 3600

    def __init__(self, root: Path, *, may_create: Callable[[], bool] | None = None) -> None:
        """``may_create`` answers whether a missing store may be made now (the service
        passes "the database refers to no blob"); None: a bare store (tests, benchmarks)
        that creates itself on first use."""
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._marker = self.root / STORE_MARKER
        self._swept = False
        self.may_create = may_create

    def _path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def initialize(self) -> None:
        try:
            _make_dirs(self._tmp)
            if not self._marker.is_file():
                self._marker.write_text("lienthong blob store: do not delete\n")
                os.chmod(self._marker, BLOB_FILE_MODE)  # whatever the umask, like every blob
                _fsync_dir(self.root)
        except OSError as exc:
            raise write_error(exc, f"cannot create the blob store {self.root}") from None

    def _require_store(self) -> None:
        """One stat per write: a folder wiped, unmounted or replaced by an empty one is seen
        at the next upload, not papered over by re-creating it."""
        if self._marker.is_file():
            return
        if self.may_create is not None and not self.may_create():
            raise BlobStoreMissing(f"the blob store {self.root} is missing or empty while the database "
                                   "refers to stored files: restore it, or run `flask storage init`")
        self.initialize()

    def _ensure_dirs(self) -> None:
        self._require_store()
        try:
            _make_dirs(self._tmp)
        except OSError as exc:
            raise write_error(exc, f"cannot create {self._tmp}") from None
        if not self._swept:
            self._swept = True
            self._sweep_stale_temp_files()

    def _sweep_stale_temp_files(self) -> None:
        cutoff = time.time() - self.STALE_TEMP_SECONDS
        for leftover in self._tmp.glob(STAGED_PREFIX + "*"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except OSError:
                pass  # another process swept it first, or it is not ours to remove

    def stage(self) -> StagedUpload:
        self._ensure_dirs()
        try:
            return StagedUpload(str(self._tmp))
        except OSError as exc:
            raise write_error(exc, f"cannot write to {self._tmp}") from None

    def put(self, stream: IO[bytes]) -> BlobRef:
        self._ensure_dirs()
        staged = staged_ref(stream)
        if staged is not None and Path(cast(StagedUpload, stream).path).parent == self._tmp:
            return self._put_staged(cast(StagedUpload, stream), staged)
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=STAGED_PREFIX)
        except OSError as exc:
            raise write_error(exc, f"cannot write to {self._tmp}") from None
        tmp = Path(tmp_name)
        try:
            out = os.fdopen(fd, "wb")
            try:
                digest, size = hash_into(stream, out)  # the source's own errors pass through
                try:
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as exc:
                    raise write_error(exc, "cannot write blob") from None
            finally:
                try:
                    out.close()
                except OSError:
                    pass  # what the buffer held could not be written: the error above says so
            ref = BlobRef(digest.hexdigest(), size)
            self._place(tmp, ref)
            return ref
        finally:
            tmp.unlink(missing_ok=True)

    def _put_staged(self, staged: StagedUpload, ref: BlobRef) -> BlobRef:
        """The upload already lies, hashed, in our temporary folder: make it durable and
        rename it into place — no copy, no second read."""
        try:
            os.fsync(staged.fileno())
        except OSError as exc:
            raise write_error(exc, "cannot write blob") from None
        if self._place(Path(staged.path), ref):
            staged.take(str(self._path(ref.sha256)))
        return ref

    def _place(self, tmp: Path, ref: BlobRef) -> bool:
        """Rename the durable temporary file ``tmp`` to ``ref``'s key; False (``tmp`` left
        where it is) when the key already holds these bytes."""
        final = self._path(ref.sha256)
        try:
            if _size_or_none(final) == ref.size and matches(self, ref.sha256):
                # Stored again: its time is now, so `storage gc` spares it while the
                # upload that just put it commits its reference.
                os.utime(final)
                return False
            # A file under this key that does not hash to it is damaged: the rename replaces it.
            created = _make_dirs(final.parent)
            os.chmod(tmp, BLOB_FILE_MODE)
            os.replace(tmp, final)
            # The rename, and any shard folder made for it, must survive a power cut.
            # Deepest first: on ext4/XFS the first fsync commits the journal holding all
            # of these changes, so the others find nothing left to write.
            for folder in [final.parent] + [c.parent for c in reversed(created)]:
                _fsync_dir(folder)
        except OSError as exc:
            raise write_error(exc, "cannot write blob") from None
        return True

    def open(self, sha256: str) -> BinaryIO:
        path = self._path(sha256)
        try:
            raw = open(path, "rb", buffering=0)  # the BufferedReader below is the only buffer
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot read {path}: {exc.strerror}") from None
        size = os.fstat(raw.fileno()).st_size
        return io.BufferedReader(HashCheckingReader(raw, sha256, size), buffer_size=CHUNK)

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

    def list_blobs(self) -> Iterator[StoredBlob]:
        for path in (self.root / "sha256").glob("*/*/*"):
            try:
                info = path.stat()
                blob_key(path.name)  # only files named by a digest are blobs
            except (OSError, ValueError):
                continue
            yield StoredBlob(path.name, info.st_size, datetime.fromtimestamp(info.st_mtime, timezone.utc))

    def delete(self, sha256: str) -> bool:
        try:
            self._path(sha256).unlink(missing_ok=True)
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot delete a blob: {exc.strerror}") from None
        return True


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
        created.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(created, PRIVATE_DIR)  # mkdir's mode is filtered by the umask: say it outright
    return missing


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
