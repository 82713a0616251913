"""MinIO (or any S3 server) blob store, through the ``minio`` SDK.

Same contract as :class:`storage.blobs.FilesystemBlobStore`: content-addressed keys
``sha256/ab/cd/<hex>``, each blob stored once, reads checked against the hash. Optional
object-lock retention keeps a stored signed document from being deleted or overwritten
before it expires.

How ``put`` streams a body of unknown length: the bytes go through a temporary *spool file*
(in memory up to ``SPOOL_MAX_MEMORY``, on local disk beyond) while their SHA-256 is
computed, and only then to the server, with a known length (one PUT, or a multipart upload
in ``part_size`` parts for large blobs). We chose this over "multipart upload of length -1
to a staging key, then server-side copy to the final key" because:

- the key is known before a byte is sent, so a blob already stored costs one HEAD and no
  upload at all (a document sent to 500 communes is uploaded once, not 500 times);
- small blobs take one PUT instead of create/part/complete/copy/delete (five round trips);
- nothing is left behind on the server by a crash half-way (no staging object, no
  dangling multipart upload; in an object-locked bucket a retained staging object could not
  even be cleaned up);
- the digest known up front goes in ``x-amz-checksum-sha256``, which real MinIO verifies
  and which moto requires on puts that carry retention;
- it behaves the same on moto and on MinIO (moto ignores object-lock headers on
  CreateMultipartUpload, so retention on large blobs is set with PutObjectRetention after
  the upload, which works on both).

Memory stays bounded: about two parts per parallel upload (5 MiB parts, one upload at a time
by default: ~10 MiB whatever the blob size; the contract suite measures it).
"""
from __future__ import annotations

import base64
import io
import logging
import os
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Callable, Iterator, cast

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import MinioException, S3Error
from minio.helpers import DictType, check_bucket_name
from minio.retention import Retention
from minio.time import from_iso8601utc

from storage.blobs import (
    CHUNK,
    STORE_MARKER,
    BlobNotFound,
    BlobRef,
    BlobStoreFull,
    BlobStoreMissing,
    BlobStoreUnavailable,
    HashCheckingReader,
    StagedUpload,
    StoredBlob,
    blob_key,
    hash_into,
    matches,
    staged_ref,
    write_error,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from urllib3 import BaseHTTPResponse

    from settings import S3Settings

log = logging.getLogger(__name__)

MiB = 1024 * 1024
SPOOL_MAX_MEMORY = 2 * MiB       # smaller blobs (most documents) never touch the local disk
DEFAULT_PART_SIZE = 5 * MiB      # the S3 minimum. Each in-flight upload holds ~2 parts
_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NoSuchVersion"}
_FULL_CODES = {"XMinioStorageFull"}  # MinIO's "drives have reached their minimum free space"
# A blob stored again is re-uploaded when its object is older than this, so that its
# LastModified says "just put" and `storage gc` spares it while the upload commits its
# reference. Far below any sensible gc grace; re-puts of a fresh object cost nothing.
REFRESH_AFTER = timedelta(hours=1)
# Re-storing a blob extends its retention only when that gains more than this: otherwise
# every duplicate upload would cost a retention write.
_RETENTION_SLACK = timedelta(days=1)


class MinioBlobStore:
    """Blobs as objects in one bucket. Thread-safe: the SDK client and its urllib3 pool are."""

    def __init__(self, client: Minio, bucket: str, *, endpoint: str = "s3",
                 retention_days: int = 0, retention_mode: str = "GOVERNANCE",
                 part_size: int = DEFAULT_PART_SIZE, parallel_uploads: int = 1,
                 spool_dir: Path | None = None, may_create: Callable[[], bool] | None = None) -> None:
        if retention_mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"retention mode must be GOVERNANCE or COMPLIANCE, not {retention_mode!r}")
        if part_size < 5 * MiB:
            raise ValueError("S3 multipart parts are at least 5 MiB")
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint  # host:port only: what error messages may name
        self.retention_days = retention_days
        self.retention_mode = retention_mode
        self.part_size = part_size
        self.parallel_uploads = parallel_uploads
        # Spool on the data disk rather than /tmp, which in containers is often RAM (tmpfs).
        self.spool_dir = spool_dir
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()
        # Whether a missing bucket (or one without the marker) may be made now; None: a bare
        # store (tests, benchmarks) that creates its bucket on first use.
        self.may_create = may_create
        self.refresh_after = REFRESH_AFTER

    @classmethod
    def from_settings(cls, s3: S3Settings, *, spool_dir: Path | None = None) -> "MinioBlobStore":
        """Build the store from :class:`settings.S3Settings`. No network I/O here: the bucket
        is checked (and created) on first use, so start-up survives MinIO being briefly down."""
        from settings import ConfigError

        try:
            check_bucket_name(s3.bucket, strict=True)
        except ValueError:
            raise ConfigError(f"LIENTHONG_S3_BUCKET={s3.bucket!r} is not a valid bucket name") from None
        try:
            client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key,
                           secure=s3.secure, region=s3.region,
                           http_client=make_http_client(s3.connect_timeout, s3.read_timeout, s3.connect_retries))
        except ValueError:
            raise ConfigError(f"LIENTHONG_S3_ENDPOINT={s3.endpoint!r} is not host:port") from None
        return cls(client, s3.bucket, endpoint=s3.endpoint, retention_days=s3.retention_days,
                   retention_mode=s3.retention_mode, spool_dir=spool_dir)

    # -- the BlobStore interface ---------------------------------------------------------

    def _spool_folder(self) -> str | None:
        if self.spool_dir is None:
            return None
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, "cannot create the spool folder") from None
        return str(self.spool_dir)

    def stage(self) -> StagedUpload:
        """A spool file the upload lands in, hashed as it is written: ``put`` sends it as it is."""
        folder = self._spool_folder()
        try:
            return StagedUpload(folder or tempfile.gettempdir())
        except OSError as exc:
            raise write_error(exc, "cannot create a spool file") from None

    def put(self, stream: IO[bytes]) -> BlobRef:
        self._ensure_bucket()
        staged = staged_ref(stream)
        if staged is not None:  # already hashed and on local disk: it is the spool file
            stream.seek(0)
            self._store(staged, cast(BinaryIO, stream))
            return staged
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY, dir=self._spool_folder()) as spool:
            digest, size = hash_into(stream, spool)  # errors of the caller's stream pass through
            ref = BlobRef(digest.hexdigest(), size)
            spool.seek(0)
            # typeshed's SpooledTemporaryFile is an IO[bytes], not the BinaryIO the SDK asks for
            self._store(ref, cast(BinaryIO, spool))
        return ref

    def _store(self, ref: BlobRef, spool: BinaryIO) -> None:
        """Upload ``spool`` (at its start, holding ``ref``'s bytes) unless the bucket holds them."""
        key = blob_key(ref.sha256)
        existing = self._head(key)
        if existing is not None and existing.size == ref.size and matches(self, ref.sha256) \
                and not self._stale(existing):
            self._keep_retained(key, existing)
            return
        # A stored object that does not hash to its key is damaged: a new version on top heals it.
        checksum = base64.b64encode(bytes.fromhex(ref.sha256)).decode()
        self._upload(key, spool, ref.size, checksum)

    def open(self, sha256: str) -> BinaryIO:
        key = blob_key(sha256)
        self._ensure_bucket()
        with self._errors("get", sha256):
            response = self.client.get_object(self.bucket, key)
        length = response.headers.get("content-length")
        body = _ResponseBody(response, self.endpoint)
        reader = HashCheckingReader(body, sha256, int(length) if length is not None else None)
        return io.BufferedReader(reader, buffer_size=CHUNK)

    def exists(self, sha256: str) -> bool:
        # No _ensure_bucket: the rule deciding whether a missing bucket may be created asks
        # this (a missing bucket answers BlobStoreUnavailable).
        return self._head(blob_key(sha256)) is not None

    def stat(self, sha256: str) -> BlobRef:
        self._ensure_bucket()
        found = self._head(blob_key(sha256))
        if found is None:
            raise BlobNotFound(sha256)
        assert found.size is not None  # a HEAD answer always carries the object's length
        return BlobRef(sha256, found.size)

    def check(self) -> None:
        # Asks the server every time (a readiness probe must not answer from a cache).
        with self._errors("check"):
            present = self.client.bucket_exists(self.bucket) and self._head(STORE_MARKER) is not None
        if not present:
            self._bucket_ready = False
        self._ensure_bucket()

    def initialize(self) -> None:
        with self._errors("create bucket"):
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket, object_lock=True)
                    log.info("created bucket %s (object lock enabled) on %s", self.bucket, self.endpoint)
                except S3Error as exc:
                    # Another process created it between our check and our create.
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            if self._head(STORE_MARKER) is None:
                note = b"lienthong blob store: do not delete\n"
                self.client.put_object(self.bucket, STORE_MARKER, io.BytesIO(note), len(note))

    def list_blobs(self) -> Iterator[StoredBlob]:
        self._ensure_bucket()
        with self._errors("list"):
            for obj in self.client.list_objects(self.bucket, prefix="sha256/", recursive=True):
                name = (obj.object_name or "").rsplit("/", 1)[-1]
                if obj.last_modified is None or obj.size is None:
                    continue
                yield StoredBlob(name, obj.size, obj.last_modified.astimezone(timezone.utc))

    def delete(self, sha256: str) -> bool:
        """Every version goes (the bucket is versioned: a plain delete only hides the bytes
        behind a delete marker); a retained version stays and the answer is False."""
        key = blob_key(sha256)
        self._ensure_bucket()
        kept = False
        with self._errors("delete", sha256):
            for version in self.client.list_objects(self.bucket, prefix=key, include_version=True):
                if version.object_name != key:
                    continue
                try:
                    self.client.remove_object(self.bucket, key, version_id=version.version_id)
                except S3Error as exc:
                    if exc.code not in ("AccessDenied", "InvalidRequest", "ObjectLocked"):
                        raise
                    kept = True
        return not kept

    # -- internals ----------------------------------------------------------------------

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            with self._errors("check bucket"):
                present = self.client.bucket_exists(self.bucket) and self._head(STORE_MARKER) is not None
            if not present:
                if self.may_create is not None and not self.may_create():
                    raise BlobStoreMissing(
                        f"bucket {self.bucket} on {self.endpoint} is missing or empty while the database refers "
                        "to stored files: restore it, or run `flask storage init`")
                self.initialize()
            with self._errors("check bucket"):
                if self.retention_days:
                    self._require_object_lock()
            self._bucket_ready = True

    def _require_object_lock(self) -> None:
        try:
            self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code in ("ObjectLockConfigurationNotFoundError", "InvalidRequest"):
                raise BlobStoreUnavailable(
                    f"bucket {self.bucket} on {self.endpoint} was created without object lock, "
                    "so retention cannot be applied; use a bucket created with object lock"
                ) from None
            raise

    def _stale(self, existing: Object) -> bool:
        modified = existing.last_modified
        return modified is not None and datetime.now(timezone.utc) - modified > self.refresh_after

    def _head(self, key: str) -> Object | None:
        """The object's stat, or None when absent."""
        try:
            with self._errors("stat"):
                return self.client.stat_object(self.bucket, key)
        except BlobNotFound:
            return None

    def _retention(self) -> Retention | None:
        if not self.retention_days:
            return None
        until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=self.retention_days)
        return Retention(self.retention_mode, until)

    def _upload(self, key: str, spool: BinaryIO, size: int, checksum_b64: str) -> None:
        retention = self._retention()
        single_part = size <= self.part_size
        metadata: DictType | None = None
        if single_part:
            # The SDK forwards x-amz-* keys as headers unchanged. MinIO verifies the checksum;
            # moto (and S3) refuse object-lock puts without one.
            metadata = {"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum_b64}
        with self._errors("put"):
            result = self.client.put_object(
                self.bucket, key, spool, size, metadata=metadata,
                part_size=self.part_size, num_parallel_uploads=self.parallel_uploads,
                retention=retention if single_part else None,
            )
            if retention is not None and not single_part:
                self.client.set_object_retention(self.bucket, key, retention, version_id=result.version_id)

    def _keep_retained(self, key: str, existing: Object) -> None:
        """A blob stored again must be retained as long as a fresh one would be: it may have
        been stored before retention was configured, or a crash may have hit between a
        multipart upload and its retention."""
        wanted = self._retention()
        if wanted is None:
            return
        until = from_iso8601utc((existing.metadata or {}).get("x-amz-object-lock-retain-until-date"))
        if until is not None and until >= wanted.retain_until_date - _RETENTION_SLACK:
            return
        with self._errors("set retention"):
            self.client.set_object_retention(self.bucket, key, wanted, version_id=existing.version_id)

    @contextmanager
    def _errors(self, operation: str, sha256: str | None = None) -> Iterator[None]:
        """SDK and network errors → BlobNotFound / BlobStoreUnavailable. Messages name the
        endpoint and the S3 error code only: never credentials, never signed URLs."""
        try:
            yield
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                raise BlobNotFound(sha256 or "") from None
            if exc.code == "NoSuchBucket":
                self._bucket_ready = False
            if exc.code in _FULL_CODES:
                raise BlobStoreFull(f"S3 {operation} on {self.endpoint} failed: {exc.code}") from None
            raise BlobStoreUnavailable(
                f"S3 {operation} on {self.endpoint} failed: {exc.code}") from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise BlobStoreUnavailable(
                f"S3 {operation} on {self.endpoint} failed: {_describe(exc)}") from None


class _ResponseBody(io.RawIOBase):
    """An SDK GET response as a raw stream whose network errors are BlobStoreUnavailable,
    and whose close gives the connection back to the pool."""

    def __init__(self, response: BaseHTTPResponse, endpoint: str) -> None:
        super().__init__()
        self._response = response
        self._endpoint = endpoint

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        try:
            return self._response.readinto(memoryview(buffer))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise BlobStoreUnavailable(
                f"S3 get on {self._endpoint} broke off: {_describe(exc)}") from None

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # MaxRetryError: its str() carries the URL
    if isinstance(reason, BaseException):
        return f"{type(exc).__name__} ({type(reason).__name__})"
    return type(exc).__name__


def make_http_client(connect_timeout: float, read_timeout: float, connect_retries: int) -> urllib3.PoolManager:
    """The SDK's default pool waits 5 minutes and retries 5 times: a dead server would hang
    every request (and the readiness probe) for 15 minutes. Here a hung server costs one read
    timeout (a read is never retried: the retries would stack, 3 × 60 s was the old cost), a
    server that refuses or drops connections ``connect_retries`` quick reconnections; the
    worst case is :func:`worst_case_seconds`."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=connect_retries, connect=connect_retries, read=0, status=0, other=0,
                              backoff_factor=0.1, raise_on_status=False),
    )


def worst_case_seconds(connect_timeout: float, read_timeout: float, connect_retries: int) -> float:
    """The longest one S3 request can take before it fails: every connection attempt timing
    out, or the last one connecting and its answer never coming (plus urllib3's back-off)."""
    return (connect_retries + 1) * connect_timeout + read_timeout + 0.1 * 2 ** connect_retries
