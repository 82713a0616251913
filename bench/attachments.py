"""What attachments add to the agency seal: POST /api/v1/documents/{id}/signatures (profile
seal, B-LT) on a person-signed 2-page letter with 0, 2 (one 1-page PDF, one 1 MB CSV) and
10 attachments (5 of each); and POST …/attachments for a 1 MB and a 20 MB file. Flask test
client, SQLite, in-process TSA/OCSP; runs alternate; medians.

    .venv/bin/python bench/attachments.py      # BENCH_N=5
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

N = int(os.environ.get("BENCH_N", "5"))


def main() -> None:
    from bench.signing_app import signing_app
    from tests.exchange_fixtures import make_pdf, upload_via_api

    bench = signing_app("bench-attachments-")
    client, sw = bench.client, bench.world
    letter, annex = make_pdf("Bench phụ lục", pages=2), make_pdf("Phụ lục", pages=1)
    csv_1mb = ("Xã;Số tiền\n" + "An Bình;1.000.000\n" * 55_000).encode()[:1 << 20]

    def attach(doc_id: int, data: bytes, name: str) -> float:
        started = time.perf_counter()
        r = client.post(f"/api/v1/documents/{doc_id}/attachments", headers=sw.headers("clerk"),
                        content_type="multipart/form-data", data={"file": (io.BytesIO(data), name)})
        assert r.status_code == 201, r.get_json()
        return (time.perf_counter() - started) * 1000

    def seal(attachments: int) -> float:
        doc_id = upload_via_api(client, sw.headers("clerk"), pdf=letter).get_json()["id"]
        for i in range(attachments):
            attach(doc_id, annex if i % 2 == 0 else csv_1mb + str(i).encode(), f"phu-luc-{i}.{'pdf' if i % 2 == 0 else 'csv'}")
        r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                        json={"profile": "person", "level": "B-LT"})
        assert r.status_code == 201, r.get_json()
        started = time.perf_counter()
        r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("clerk"),
                        json={"profile": "seal", "level": "B-LT"})
        assert r.status_code == 201, r.get_json()
        return (time.perf_counter() - started) * 1000

    counts = (0, 2, 10)
    seal(2)  # warm-up: key load, font subset, PKI cache
    runs: dict[int, list[float]] = {c: [] for c in counts}
    for _ in range(N):
        for c in counts:
            runs[c].append(seal(c))
    base = statistics.median(runs[0])
    for c in counts:
        m = statistics.median(runs[c])
        print(f"seal B-LT with {c:2d} attachments: median {m:7.1f} ms over {N} (+{m - base:6.1f} ms, "
              f"{(m - base) / c if c else 0:5.1f} ms per attachment)")
    doc_id = upload_via_api(client, sw.headers("clerk"), pdf=letter).get_json()["id"]
    for size_mb in (1, 20):
        data = os.urandom(size_mb << 20)
        times = [attach(doc_id, data + bytes([i]), f"tep-{size_mb}-{i}.bin") for i in range(N)]
        print(f"POST attachments {size_mb:2d} MB: median {statistics.median(times):7.1f} ms over {N}")
    bench.close()


if __name__ == "__main__":
    main()
