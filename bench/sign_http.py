"""What the signatures endpoint adds to a signature: POST /api/v1/documents/{id}/signatures
(Flask test client: auth, blob read, sign, blob write, revision + audit in one transaction)
beside a direct ``signing.sign.sign`` call with the same credential, in-process TSA and a new
validation context, on the same 2-page PDF at B-LT. Runs alternate; medians; ratio last.

    .venv/bin/python bench/sign_http.py      # BENCH_N=20
"""
from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_N", "20"))


def main() -> None:
    from bench.signing_app import signing_app
    from certs.issuance import load_signing_credential
    from certs.fetchers import local_timestamper, validation_context
    from signing.sign import sign
    from tests.db import session_scope
    from tests.exchange_fixtures import make_pdf, upload_via_api

    bench = signing_app("bench-sign-http-", "signer")
    client, engine, settings, sw = bench.client, bench.engine, bench.settings, bench.world
    pdf = make_pdf("Bench ký số", pages=2)
    with session_scope(engine) as s:
        credential = load_signing_credential(s, settings, sw.credentials["signer"])

    def direct() -> None:
        sign(io.BytesIO(pdf), credential, profile="person", level="B-LT", timestamper=local_timestamper(settings),
             validation_context=validation_context(settings, for_signing=True))

    def endpoint() -> None:
        doc_id = upload_via_api(client, sw.headers("clerk"), pdf=pdf).get_json()["id"]  # not timed
        started = time.perf_counter()
        r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                        json={"profile": "person", "level": "B-LT"})
        runs_endpoint.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 201, r.get_json()

    runs_direct: list[float] = []
    runs_endpoint: list[float] = []
    for _ in range(2):  # warm-up: key load, font subset, PKI cache
        direct()
        endpoint()
    runs_endpoint.clear()
    for _ in range(N):
        started = time.perf_counter()
        direct()
        runs_direct.append((time.perf_counter() - started) * 1000)
        endpoint()
    d, e = statistics.median(runs_direct), statistics.median(runs_endpoint)
    print(f"direct sign() B-LT: median {d:.1f} ms over {N}")
    print(f"POST /signatures B-LT: median {e:.1f} ms over {N}")
    print(f"ratio endpoint/direct {e / d:.2f} (endpoint overhead {e - d:.1f} ms)")
    bench.close()


if __name__ == "__main__":
    main()
