"""edXML import over HTTP beside a plain document upload of the same PDF, same run.

- *ours*: ``POST /api/v1/edxml`` of a package (From another agency, To the commune) carrying
  the PDF base64-encoded: auth, multipart, the hardened lxml parse, the base64 decode, the
  envelope-signature look-up, the PDF check, the blob put, the document, revision, dispatch,
  delivery (inbox ``seq``), package record and audit event in one transaction, the JSON answer;
- *baseline*: ``POST /api/v1/documents`` (multipart ``file`` + ``metadata``) of a PDF of the
  same size to the same server: what any way in must do with the file.

Both go to the app on a werkzeug server thread on 127.0.0.1 through ``requests``; every
request sends fresh bytes. Rounds alternate; the median counts. Last line: the ratio.

    .venv/bin/python bench/edxml.py [--mb 5] [--rounds 7]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.upload import serve  # noqa: E402 - after the path is set
from tests.exchange_fixtures import padded_pdf  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=5, help="PDF size (an edXML part is at most 7 MB)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    import requests

    from tests.exchange_fixtures import DOCUMENT_METADATA, auth
    from tests.integration.exchange.edxml_support import package

    app, server, world, base, _work = serve("bench-edxml-", args.mb * 2 + 10)
    http = requests.Session()
    commune = world.all_communes[0]

    ours, baseline = [], []
    for round in range(args.rounds):
        body = package(world.other_province, [commune], pdf=padded_pdf(args.mb * 1024, os.urandom(16)), number=str(round))
        started = time.perf_counter()
        r = http.post(f"{base}/api/v1/edxml", headers=auth(world.agency_tokens[commune]), timeout=300,
                      files={"file": ("goi.edxml", io.BytesIO(body), "application/xml")})
        ours.append(time.perf_counter() - started)
        assert r.status_code == 201, r.text
        data = padded_pdf(args.mb * 1024, os.urandom(16))
        started = time.perf_counter()
        r = http.post(f"{base}/api/v1/documents", headers=auth(world.token("clerk")), timeout=300,
                      files={"file": ("bench.pdf", io.BytesIO(data), "application/pdf")},
                      data={"metadata": json.dumps(DOCUMENT_METADATA)})
        baseline.append(time.perf_counter() - started)
        assert r.status_code == 201, r.text
    server.shutdown()
    app.extensions["lienthong.engine"].dispose()

    size_mb = len(data) / 1024 / 1024
    o, b = statistics.median(ours), statistics.median(baseline)
    print(f"{args.rounds} rounds, {size_mb:.1f} MiB PDF each ({len(body) / 1024 / 1024:.1f} MiB as edXML), "
          f"SQLite + filesystem store, {os.cpu_count()} CPUs")
    print(f"ours:     POST /api/v1/edxml (import into the inbox)  {o * 1000:8.0f} ms  {size_mb / o:7.1f} MiB/s")
    print(f"baseline: POST /api/v1/documents, same-size PDF      {b * 1000:8.0f} ms  {size_mb / b:7.1f} MiB/s")
    print(f"ratio ours/baseline (median time): {o / b:.2f}")


if __name__ == "__main__":
    main()
