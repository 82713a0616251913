"""A signed file's fsyncs wait on a native thread under gevent (the worker's other requests
go on meanwhile) and where they always were otherwise (exchange.services.signatures.durable_put)."""
from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from exchange.services.signatures import durable_put
from storage.filesystem import FilesystemBlobStore

ROOT = Path(__file__).resolve().parents[4]

# In a fresh interpreter patched by gevent, as a gunicorn gevent worker is: each fsync takes
# 0.2 s of a native thread's time; a greenlet ticks every 10 ms meanwhile.
UNDER_GEVENT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import io, os, sys, tempfile, threading
    from pathlib import Path
    import gevent
    sys.path.insert(0, sys.argv[1])
    from exchange.services.signatures import durable_put
    from storage.filesystem import FilesystemBlobStore

    real_sleep = monkey.get_original("time", "sleep")
    native_id = monkey.get_original("_thread", "get_native_id")
    real_fsync, fsync_threads = os.fsync, []

    def slow_fsync(fd):
        fsync_threads.append(native_id())
        real_sleep(0.2)  # blocks its OS thread, as a busy disk does
        real_fsync(fd)

    os.fsync = slow_fsync
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    gevent.spawn(ticker)
    gevent.sleep(0)
    store = FilesystemBlobStore(Path(tempfile.mkdtemp()) / "blobs")
    ref = durable_put(store, io.BytesIO(b"%PDF-1.7 signed"))
    assert store.open(ref.sha256).read() == b"%PDF-1.7 signed"
    assert fsync_threads and native_id() not in fsync_threads, (native_id(), fsync_threads)
    assert len(ticks) >= 10, f"the other greenlets stopped while the file was made durable ({len(ticks)} ticks)"
    print("ok", len(fsync_threads), len(ticks))
""")


def test_under_gevent_the_fsyncs_leave_the_other_requests_running(tmp_path):
    done = subprocess.run([sys.executable, "-c", UNDER_GEVENT, str(ROOT)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok ")


def test_without_gevent_the_blob_is_written_on_the_calling_thread(tmp_path, monkeypatch):
    import os

    threads: list[int] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        threads.append(threading.get_ident())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    store = FilesystemBlobStore(tmp_path / "blobs")
    ref = durable_put(store, io.BytesIO(b"%PDF-1.7 signed"))
    with store.open(ref.sha256) as f:
        assert f.read() == b"%PDF-1.7 signed"
    assert threads and set(threads) == {threading.get_ident()}
