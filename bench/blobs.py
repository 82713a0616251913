"""Blob store throughput: ours beside the plain way, same server / same disk, same run.

- ``MinioBlobStore`` (unknown-length put through a spool file, hash-checked get) beside the
  raw ``minio`` SDK (``put_object`` of known length + ``get_object``), on one S3 server:
  moto's server in a child process (its own GIL), or the MinIO named by
  ``LIENTHONG_TEST_S3_ENDPOINT`` (+ ``_ACCESS_KEY``/``_SECRET_KEY``).
- ``FilesystemBlobStore`` (temp file, fsync, rename, hash-checked read) beside plain file
  writes and reads (open/write/fsync/read) in the same folder.

Every put stores fresh random bytes (the store would otherwise skip a blob it already has).
Rounds alternate ours/raw; the median round counts. The last line is the worst ratio of the
put+get throughputs (rows marked "(info)" compare with a hashing baseline and do not count).

    .venv/bin/python bench/blobs.py [--small-count 20] [--large-mb 50] [--rounds 3]
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minio import Minio  # noqa: E402

from settings import S3Settings  # noqa: E402
from storage.filesystem import FilesystemBlobStore  # noqa: E402
from storage.minio_store import MinioBlobStore  # noqa: E402
from tests.s3server import MOTO_ACCESS_KEY, MOTO_SECRET_KEY, S3Endpoint, real_s3_from_env  # noqa: E402

MiB = 1024 * 1024
# One operation on one blob: put(data) returns a handle, get(handle) reads it all back.
Put = Callable[[bytes], object]
Get = Callable[[object], int]


@contextmanager
def s3_endpoint() -> Iterator[S3Endpoint]:
    real = real_s3_from_env()
    if real is not None:
        yield real
        return
    server = subprocess.Popen([sys.executable, "-m", "tests.s3server"], cwd=Path(__file__).resolve().parents[1],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        endpoint = server.stdout.readline().strip()  # type: ignore[union-attr]
        yield S3Endpoint(endpoint, MOTO_ACCESS_KEY, MOTO_SECRET_KEY)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=10)


def drain(reader, chunk: int = MiB) -> int:  # type: ignore[no-untyped-def]
    total = 0
    while data := reader.read(chunk):
        total += len(data)
    return total


def store_ops(store) -> tuple[Put, Get]:  # type: ignore[no-untyped-def]
    def put(data: bytes) -> object:
        return store.put(io.BytesIO(data)).sha256

    def get(sha: object) -> int:
        with store.open(sha) as reader:  # type: ignore[arg-type]
            return drain(reader)

    return put, get


def raw_s3_ops(client: Minio, bucket: str) -> tuple[Put, Get]:
    def put(data: bytes) -> object:
        key = f"raw/{uuid.uuid4().hex}"
        client.put_object(bucket, key, io.BytesIO(data), len(data))
        return key

    def get(key: object) -> int:
        response = client.get_object(bucket, key)  # type: ignore[arg-type]
        try:
            return drain(response)
        finally:
            response.close()
            response.release_conn()

    return put, get


def raw_file_ops(folder: Path, hashed: bool = False) -> tuple[Put, Get]:
    """Plain files; ``hashed`` adds the SHA-256 of the bytes on the way in and out, the work
    any content-addressed, hash-checked store must do (an informative second baseline)."""
    folder.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> object:
        path = folder / uuid.uuid4().hex
        digest, view = hashlib.sha256(), memoryview(data)
        with open(path, "wb") as out:
            for start in range(0, len(data), MiB):
                chunk = view[start:start + MiB]
                out.write(chunk)
                if hashed:
                    digest.update(chunk)
            out.flush()
            os.fsync(out.fileno())
        return path

    def get(path: object) -> int:
        digest = hashlib.sha256()
        with open(path, "rb") as reader:  # type: ignore[call-overload]
            total = 0
            while data := reader.read(MiB):
                total += len(data)
                if hashed:
                    digest.update(data)
            return total

    return put, get


def one_round(ops: tuple[Put, Get], size: int, count: int) -> tuple[float, float]:
    """Seconds spent putting, then getting, ``count`` fresh blobs of ``size`` bytes."""
    put, get = ops
    blobs = [os.urandom(size) for _ in range(count)]
    started = time.perf_counter()
    handles = [put(data) for data in blobs]
    put_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for handle, data in zip(handles, blobs, strict=True):
        assert get(handle) == len(data)
    return put_seconds, time.perf_counter() - started


def measure(ours: tuple[Put, Get], raw: tuple[Put, Get], size: int, count: int, rounds: int):  # type: ignore[no-untyped-def]
    one_round(ours, size, 1), one_round(raw, size, 1)  # warm-up: connections, buckets, page cache
    results: dict[str, list[tuple[float, float]]] = {"ours": [], "raw": []}
    for _ in range(rounds):
        results["ours"].append(one_round(ours, size, count))
        results["raw"].append(one_round(raw, size, count))
    megabytes = size * count / 1e6

    def rates(samples: list[tuple[float, float]]) -> tuple[float, float, float]:
        put = statistics.median(s[0] for s in samples)
        get = statistics.median(s[1] for s in samples)
        both = statistics.median(s[0] + s[1] for s in samples)
        return megabytes / put, megabytes / get, megabytes / both

    return rates(results["ours"]), rates(results["raw"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-count", type=int, default=20, help="how many 1 MiB blobs per round")
    parser.add_argument("--large-mb", type=int, default=50)
    parser.add_argument("--large-count", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [(MiB, args.small_count), (args.large_mb * MiB, args.large_count)]

    rows: list[tuple[str, str, tuple, tuple]] = []  # type: ignore[type-arg]
    with s3_endpoint() as endpoint, tempfile.TemporaryDirectory(prefix="bench-blobs-") as tmp:
        suffix = uuid.uuid4().hex[:10]
        ours_store = MinioBlobStore.from_settings(S3Settings(
            endpoint=endpoint.endpoint, access_key=endpoint.access_key, secret_key=endpoint.secret_key,
            bucket=f"bench-ours-{suffix}", secure=endpoint.secure))
        raw_client = Minio(endpoint.endpoint, endpoint.access_key, endpoint.secret_key, secure=endpoint.secure)
        raw_bucket = f"bench-raw-{suffix}"
        raw_client.make_bucket(raw_bucket, object_lock=True)  # same versioned bucket as ours
        server = "moto server" if endpoint.is_moto else f"S3 at {endpoint.endpoint}"
        for size, count in sizes:
            label = f"{size // MiB} MiB x{count}"
            ours, raw = measure(store_ops(ours_store), raw_s3_ops(raw_client, raw_bucket), size, count, args.rounds)
            rows.append((f"MinioBlobStore vs minio SDK ({server})", label, ours, raw))
        for size, count in sizes:
            label = f"{size // MiB} MiB x{count}"
            ours, raw = measure(store_ops(FilesystemBlobStore(Path(tmp) / "store")),
                                raw_file_ops(Path(tmp) / "plain"), size, count, args.rounds)
            rows.append(("FilesystemBlobStore vs open/write/fsync/read", label, ours, raw))
        for size, count in sizes:
            label = f"{size // MiB} MiB x{count}"
            ours, raw = measure(store_ops(FilesystemBlobStore(Path(tmp) / "store")),
                                raw_file_ops(Path(tmp) / "hashed", hashed=True), size, count, args.rounds)
            rows.append(("(info) FilesystemBlobStore vs same + sha256", label, ours, raw))
        # A store past ~65 000 blobs has every shard folder: no folder to create and fsync.
        warm = Path(tmp) / "warm"
        for shard in range(256 * 256):
            (warm / "sha256" / f"{shard >> 8:02x}" / f"{shard & 255:02x}").mkdir(parents=True)
        os.sync()
        ours, raw = measure(store_ops(FilesystemBlobStore(warm)), raw_file_ops(Path(tmp) / "plain"),
                            MiB, args.small_count, args.rounds)
        rows.append(("(info) same, shard folders all present", f"1 MiB x{args.small_count}", ours, raw))

    print(f"{'comparison':48} {'blobs':>11} {'ours put':>9} {'ours get':>9} {'ours p+g':>9}"
          f" {'raw put':>9} {'raw get':>9} {'raw p+g':>9} {'ratio':>6}   (MB/s)")
    worst = None
    for name, label, ours, raw in rows:
        ratio = ours[2] / raw[2]
        if not name.startswith("(info)"):
            worst = ratio if worst is None else min(worst, ratio)
        print(f"{name:48} {label:>11} {ours[0]:9.1f} {ours[1]:9.1f} {ours[2]:9.1f}"
              f" {raw[0]:9.1f} {raw[1]:9.1f} {raw[2]:9.1f} {ratio:6.2f}")
    print(f"worst put+get ratio ours/raw: {worst:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
