"""Document upload over HTTP beside a bare blob-store put of the same bytes, same run.

- *ours*: ``POST /api/v1/documents`` (multipart ``file`` + ``metadata``) to the app on a
  werkzeug server thread on 127.0.0.1, through ``requests`` with a bearer token: the client's
  multipart encoding, auth, multipart parsing (the file written once into the store's
  staging folder, hashed as it arrives), the light PDF check and the structure pre-scan, the
  blob put (fsync, rename), the Document + Revision + audit event transaction, the JSON
  answer. *ours, HTTP only* is the same request without the client's encoding (done before
  its timer: a client's work, not the server's), from the same rounds;
- *bare*: ``FilesystemBlobStore.put`` of the same number of fresh bytes into the app's own
  store (temp file, SHA-256, fsync, rename) — the least any upload must do.

Two fillers, each its own rounds and ratio: ``lines`` (the file's body is comment lines of
``x``, the bench's filler since it was written) and ``stream`` (the body is twenty image
streams of random bytes, as in a scanned document: a real 20 MiB PDF is mostly compressed
image data). Every upload sends fresh bytes (the store would skip a blob it already has).
One small upload first (the first request's imports); rounds alternate ours/bare; the
median counts. CPU: this process's (client and server
threads for *ours*), steadier than wall time on a shared machine. Last line: the ratios of
the medians, per filler.

    .venv/bin/python bench/upload.py [--mb 20] [--rounds 5] [--filler lines|stream|both]
    .venv/bin/python bench/upload.py --parts   # CPU of each part alone on the same bytes
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.exchange_fixtures import make_pdf, padded_pdf, with_filler  # noqa: E402

IMAGES = 20


def stream_pdf(kilobytes: int, salt: bytes) -> bytes:
    """A valid PDF (:func:`make_pdf`) carrying ``kilobytes`` of random bytes in :data:`IMAGES`
    image XObjects (``/DCTDecode`` streams, unreferenced: nothing here decodes them), like a
    scanned document; the xref offsets are moved along."""
    filler = bytearray()
    for i in range(IMAGES):
        data = os.urandom(kilobytes * 1024 // IMAGES)
        filler += (b"%d 0 obj\n<< /Type /XObject /Subtype /Image /Width 2480 /Height 3508 /ColorSpace /DeviceRGB "
                   b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % (1000 + i, len(data)))
        filler += data + b"\nendstream\nendobj\n"
    return with_filler(make_pdf("bench " + salt.hex()), bytes(filler))


FILLERS = {"lines": padded_pdf, "stream": stream_pdf}


def parts(mb: int, fillers: list[str]) -> None:
    """The CPU of each part of an upload that the bare put does not do, alone on the bench's
    bytes (min of 7; each filler measured twice, the second counts: the first pays the
    allocator's first large blocks)."""
    import hashlib

    import requests
    from werkzeug.formparser import MultiPartParser

    from signing import prescan

    class Discard(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def write(self, data: Any) -> int:
            return len(data)

    def cpu_ms(work: Any) -> float:
        spent = []
        for _ in range(7):
            started = time.process_time()
            work()
            spent.append(time.process_time() - started)
        return min(spent) * 1000

    rows: dict[str, dict[str, float]] = {}
    for name in fillers * 2:
        data = FILLERS[name](mb * 1024, os.urandom(16))

        def encode(data: bytes = data) -> Any:
            return requests.Request("POST", "http://127.0.0.1/", data={"metadata": "{}"},
                                    files={"file": ("bench.pdf", io.BytesIO(data), "application/pdf")}).prepare()

        request = encode()
        boundary = request.headers["Content-Type"].split("boundary=")[1].encode()

        def decode(body: bytes = request.body, boundary: bytes = boundary) -> None:
            MultiPartParser(stream_factory=lambda **_: Discard(), max_form_memory_size=500_000,
                            buffer_size=256 * 1024).parse(io.BytesIO(body), boundary, len(body))

        rows[name] = {"structure pre-scan (signing.prescan.check)": cpu_ms(lambda data=data: prescan.check(data)),
                      "Werkzeug's multipart decoder, 256 KiB reads, discarding": cpu_ms(decode),
                      "client's multipart encoding (requests)": cpu_ms(encode),
                      "SHA-256 (the bare put pays it too)": cpu_ms(lambda data=data: hashlib.sha256(data).digest())}
    print(f"CPU ms per {mb} MiB, min of 7, load average {os.getloadavg()[0]:.1f}: " + ", ".join(fillers))
    for part in next(iter(rows.values())):
        print(f"  {part:58s} " + "  ".join(f"{rows[name][part]:6.1f}" for name in fillers))


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
    parser.add_argument("--filler", choices=[*FILLERS, "both"], default="both")
    parser.add_argument("--parts", action="store_true", help="only the CPU of each part, alone")
    args = parser.parse_args()
    fillers = list(FILLERS) if args.filler == "both" else [args.filler]
    if args.parts:
        parts(args.mb, fillers)
        return

    import requests

    from tests.exchange_fixtures import DOCUMENT_METADATA, auth

    app, server, world, base, work = serve("bench-upload-", args.mb + 10)
    store = app.extensions["lienthong.services"].blobs  # the bare put goes where the uploads go
    http = requests.Session()
    headers = auth(world.token("clerk"))

    # one small upload first: the first request's imports and caches are not an upload's cost
    warm = http.post(f"{base}/api/v1/documents", headers=headers, timeout=300,
                     files={"file": ("warm.pdf", io.BytesIO(make_pdf("warm-up")), "application/pdf")},
                     data={"metadata": json.dumps({**DOCUMENT_METADATA, "number": "0"})})
    assert warm.status_code == 201, warm.text
    results: dict[str, dict[str, list[float]]] = {}
    for name in fillers:
        make = FILLERS[name]
        times: dict[str, list[float]] = {key: [] for key in ("ours", "ours_cpu", "http", "http_cpu", "bare", "bare_cpu")}
        for _ in range(args.rounds):
            data = make(args.mb * 1024, os.urandom(16))
            started, cpu = time.perf_counter(), time.process_time()  # this process: client and server threads
            request = http.prepare_request(requests.Request(
                "POST", f"{base}/api/v1/documents", headers=headers,
                files={"file": ("bench.pdf", io.BytesIO(data), "application/pdf")},
                data={"metadata": json.dumps(DOCUMENT_METADATA)}))
            encoded, encoded_cpu = time.perf_counter(), time.process_time()
            r = http.send(request, timeout=300)
            done, done_cpu = time.perf_counter(), time.process_time()
            assert r.status_code == 201, r.text
            times["ours"].append(done - started)
            times["ours_cpu"].append(done_cpu - cpu)
            times["http"].append(done - encoded)
            times["http_cpu"].append(done_cpu - encoded_cpu)
            data = make(args.mb * 1024, os.urandom(16))
            started, cpu = time.perf_counter(), time.process_time()
            store.put(io.BytesIO(data))
            times["bare"].append(time.perf_counter() - started)
            times["bare_cpu"].append(time.process_time() - cpu)
        results[name] = times
    server.shutdown()
    app.extensions["lienthong.engine"].dispose()
    shutil.rmtree(work, ignore_errors=True)  # every upload and put of the run: ~0.5 GB at --rounds 7

    size_mb = len(data) / 1024 / 1024
    print(f"{args.rounds} rounds per filler, {size_mb:.1f} MiB PDF each, SQLite + filesystem store, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    ratios = []
    for name, times in results.items():
        m = {key: statistics.median(values) for key, values in times.items()}
        print(f"filler {name}:")
        print(f"  ours: POST /api/v1/documents over HTTP     {m['ours'] * 1000:8.0f} ms  "
              f"{size_mb / m['ours']:7.1f} MiB/s  CPU {m['ours_cpu'] * 1000:6.0f} ms")
        print(f"  ours, HTTP only (encoded before)         {m['http'] * 1000:8.0f} ms  "
              f"{size_mb / m['http']:7.1f} MiB/s  CPU {m['http_cpu'] * 1000:6.0f} ms")
        print(f"  bare: FilesystemBlobStore.put, same size {m['bare'] * 1000:8.0f} ms  "
              f"{size_mb / m['bare']:7.1f} MiB/s  CPU {m['bare_cpu'] * 1000:6.0f} ms")
        ratios.append(f"{name} {m['ours'] / m['bare']:.2f} (HTTP only {m['http'] / m['bare']:.2f}, "
                      f"CPU {m['ours_cpu'] / m['bare_cpu']:.2f})")
    print(f"ratio ours/bare (median time): {'; '.join(ratios)}; target <= 1.5")


if __name__ == "__main__":
    main()
