"""The first signature of a freshly started server against its tenth, over real HTTP:
POST /api/v1/documents/{id}/signatures (person, B-LT) on ten uploaded documents, one after
another, to a server process started for the run (werkzeug, as ``python app.py`` serves)
that warms up as a serving process does (app.warm_up_verification: verification workers,
keys, TSA, validation context, one throw-away signature) before it accepts requests.
BENCH_COLD=1 starts it without the warm-up, to see what the warm-up saves.

    .venv/bin/python bench/first_signature.py      # BENCH_N=10
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_N", "10"))
COLD = os.environ.get("BENCH_COLD") == "1"

# the server process: the application on the bench's data folder, warmed up as app.main does
# (synchronously here, so that the timed requests start once it is done), then served
SERVER = """
import sys, time
started = time.perf_counter()
from pathlib import Path
from werkzeug.serving import make_server
from app import create_app
from exchange.services.warm_up import warm_up_signing
from settings import Settings
data_dir, url, port, cold = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
app = create_app(Settings(data_dir=Path(data_dir), database_url=url, testing=True))
built = time.perf_counter()
if not cold:
    services = app.extensions["lienthong.services"]
    services.verifier.warm_up()
    warm_up_signing(services)
print(f"server: app built in {built - started:.2f} s, warm-up {time.perf_counter() - built:.2f} s", flush=True)
make_server("127.0.0.1", port, app, threaded=True).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_serving(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            requests.get(f"{base}/healthz", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise SystemExit("the server did not start within 300 s")


def main() -> None:
    from bench.signing_app import signing_app
    from tests.exchange_fixtures import make_pdf, upload_via_api

    bench = signing_app("bench-first-signature-", "signer")
    sw = bench.world
    # the documents are uploaded beforehand (not timed), through the bench's own application
    ids = [upload_via_api(bench.client, sw.headers("clerk"), pdf=make_pdf(f"Bench chữ ký đầu {i}", pages=2))
           .get_json()["id"] for i in range(N)]
    bench.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(bench.settings.data_dir), bench.settings.database_url,
                               str(port), "1" if COLD else "0"], cwd=ROOT)
    try:
        _wait_until_serving(base, server)
        times = []
        with requests.Session() as http:
            for doc_id in ids:
                started = time.perf_counter()
                r = http.post(f"{base}/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                              json={"profile": "person", "level": "B-LT"}, timeout=300)
                times.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 201, r.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("signature ms, in order: " + " ".join(f"{t:.0f}" for t in times))
    print(f"{'cold' if COLD else 'warmed-up'} server: first {times[0]:.0f} ms, tenth {times[min(9, N - 1)]:.0f} ms, "
          f"ratio first/tenth {times[0] / times[min(9, N - 1)]:.2f}")


if __name__ == "__main__":
    main()
