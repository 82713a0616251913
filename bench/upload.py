"""Document upload over HTTP beside a bare blob-store put of the same bytes, same run.

- *ours*: ``POST /api/v1/documents`` (multipart ``file`` + ``metadata``) to the app on a
  werkzeug server thread on 127.0.0.1, through ``requests`` with a bearer token: auth,
  multipart parsing (Werkzeug spools the file to disk), the light PDF check, the blob put,
  the Document + Revision + audit event transaction, the JSON answer;
- *bare*: ``FilesystemBlobStore.put`` of the same bytes into a fresh folder (temp file,
  fsync, rename) — the least any upload must do.

Every upload sends fresh bytes (the store would skip a blob it already has). Rounds
alternate ours/bare; the median counts. CPU: this process's (client and server threads for
*ours*), steadier than wall time on a shared machine. Last line: the ratio of the medians.

    .venv/bin/python bench/upload.py [--mb 20] [--rounds 5]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.exchange_fixtures import padded_pdf  # noqa: E402


def serve(prefix: str, max_upload_mb: int) -> tuple[Any, Any, Any, str, Path]:
    """The app on a werkzeug server thread on 127.0.0.1 over a fresh SQLite database holding
    the test world: ``(app, server, world, base URL, work folder)``."""
    from werkzeug.serving import make_server

    from app import create_app
    from settings import Settings
    from storage.db import make_engine
    from storage.schema import import_all_models
    from tests.db import session_scope
    from tests.exchange_fixtures import build_world

    work = Path(tempfile.mkdtemp(prefix=prefix))
    url = f"sqlite:///{work / 'bench.db'}"
    engine = make_engine(url)
    import_all_models().create_all(engine)
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    engine.dispose()
    app = create_app(Settings(data_dir=work / "var", database_url=url, max_upload_mb=max_upload_mb))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, world, f"http://127.0.0.1:{server.server_port}", work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import requests

    from storage.filesystem import FilesystemBlobStore
    from tests.exchange_fixtures import DOCUMENT_METADATA, auth

    app, server, world, base, work = serve("bench-upload-", args.mb + 10)
    bare_store = FilesystemBlobStore(work / "bare")
    http = requests.Session()
    headers = auth(world.token("clerk"))

    ours, bare, ours_cpu, bare_cpu = [], [], [], []
    for _ in range(args.rounds):
        data = padded_pdf(args.mb * 1024, os.urandom(16))
        started, cpu = time.perf_counter(), time.process_time()  # this process: client and server threads
        r = http.post(f"{base}/api/v1/documents", headers=headers, timeout=300,
                      files={"file": ("bench.pdf", io.BytesIO(data), "application/pdf")},
                      data={"metadata": json.dumps(DOCUMENT_METADATA)})
        ours.append(time.perf_counter() - started)
        ours_cpu.append(time.process_time() - cpu)
        assert r.status_code == 201, r.text
        data = padded_pdf(args.mb * 1024, os.urandom(16))
        started, cpu = time.perf_counter(), time.process_time()
        bare_store.put(io.BytesIO(data))
        bare.append(time.perf_counter() - started)
        bare_cpu.append(time.process_time() - cpu)
    server.shutdown()
    app.extensions["lienthong.engine"].dispose()

    size_mb = len(data) / 1024 / 1024
    o, b = statistics.median(ours), statistics.median(bare)
    oc, bc = statistics.median(ours_cpu), statistics.median(bare_cpu)
    print(f"{args.rounds} rounds, {size_mb:.1f} MiB PDF each, SQLite + filesystem store, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"ours: POST /api/v1/documents over HTTP     {o * 1000:8.0f} ms  {size_mb / o:7.1f} MiB/s  CPU {oc * 1000:6.0f} ms")
    print(f"bare: FilesystemBlobStore.put, same bytes  {b * 1000:8.0f} ms  {size_mb / b:7.1f} MiB/s  CPU {bc * 1000:6.0f} ms")
    print(f"ratio ours/bare (median time): {o / b:.2f}  (CPU {oc / bc:.2f}; target <= 1.5)")


if __name__ == "__main__":
    main()
