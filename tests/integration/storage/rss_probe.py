"""Subprocess helper: put an unknown-length stream into a blob store and report how much the
process's peak RSS grew. Run as ``python -m tests.integration.storage.rss_probe`` with the
store described by the ``LT_RSS_PROBE`` environment variable (JSON; credentials travel in
the environment, never on the command line). Prints one JSON line."""
from __future__ import annotations

import json
import os
import random
import resource
import sys
from pathlib import Path

import psutil

MiB = 1024 * 1024


class UnknownLengthStream:
    """``total`` pseudo-random bytes made on the fly: no len(), no seek, never whole in memory.
    Reading it whole (``read()`` or ``read(-1)``) is exactly the bug this probe hunts, so it fails."""

    def __init__(self, total: int, seed: int = 7) -> None:
        self._left = total
        self._rng = random.Random(seed)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the store read the whole stream at once")
        size = min(size, self._left, 4 * MiB)
        self._left -= size
        return self._rng.randbytes(size)


def reset_peak_rss() -> None:
    """Start a new high-water mark (Linux ≥ 4.0). Where that fails the peak also covers the
    imports, which only makes the measured growth larger: the bound stays honest."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child
    # of a big pytest process would "peak" at its parent's size.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def current_rss_bytes() -> int:
    return psutil.Process().memory_info().rss


def build_store(spec: dict):  # type: ignore[no-untyped-def]
    if spec["backend"] == "filesystem":
        from storage.filesystem import FilesystemBlobStore

        return FilesystemBlobStore(Path(spec["root"]))
    from settings import S3Settings
    from storage.minio_store import MinioBlobStore

    return MinioBlobStore.from_settings(S3Settings(
        endpoint=spec["endpoint"], access_key=spec["access_key"], secret_key=spec["secret_key"],
        bucket=spec["bucket"], secure=spec.get("secure", False)))


def main() -> None:
    spec = json.loads(os.environ["LT_RSS_PROBE"])
    store = build_store(spec)
    # Warm up with a tiny blob: imports, connection pool, bucket creation are not the put's cost.
    store.put(UnknownLengthStream(1024, seed=1))  # type: ignore[arg-type]
    # Growth = the high-water mark during the put over the resident size just before it.
    # (Not over the earlier high-water mark: imports may have peaked above it and hide the put.)
    before = current_rss_bytes()
    reset_peak_rss()
    ref = store.put(UnknownLengthStream(spec["size"]))  # type: ignore[arg-type]
    after = peak_rss_bytes()
    json.dump({"sha256": ref.sha256, "size": ref.size, "rss_before": before,
               "peak_rss_growth": after - before}, sys.stdout)


if __name__ == "__main__":
    main()
