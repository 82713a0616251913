"""Inbox polling under gunicorn, on SQLite and PostgreSQL in one run: an empty poll and a
50-item poll beside ``/healthz`` of the same app, same server, same configuration, same run.

For each database the app runs under gunicorn with 2 workers of the class docs/deployment.md
recommends (gevent: long-polls park as greenlets), on 127.0.0.1, with a temporary data folder:
SQLite in it, then PostgreSQL at ``--database-url`` (default ``$LIENTHONG_TEST_DATABASE_URL``;
a private schema dropped afterwards). ``wrk`` drives each endpoint in turn, alternating, for
``--rounds`` rounds; the best round counts for each (the machine is shared and noisy), the
ratios are the median of the per-round ratios.

- empty poll: ``GET /api/v1/inbox?after=<cursor>`` for an agency with nothing new, with its
  agency token (authentication included: one token lookup per request, cached);
- 50 items: ``GET /api/v1/inbox?limit=50`` for an agency with 50 deliveries.

    .venv/bin/python bench/inbox.py [--seconds 4] [--rounds 5] [--connections 32] [--database-url URL]

Targets, on both databases: empty poll ≥ 0.7× healthz; 50 items ≥ 0.25× healthz.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.gunicorn_support import WORKER_CLASS, WORKERS, gunicorn  # noqa: E402



def seed(url: str, data_dir: Path) -> dict[str, str]:
    """The test world, 50 deliveries for one commune; returns tokens and the empty cursor."""
    from exchange.services.dispatch import Recipients, dispatch_document
    from storage.migrations import upgrade
    from tests.db import build_services, session_scope
    from tests.exchange_fixtures import build_world, caller_for
    from tests.integration.exchange.delivery_support import sealed_document

    upgrade(url)
    services = build_services(url, data_dir)
    with session_scope(services.engine, write=True) as session:
        world = build_world(session)
    full, empty = world.all_communes[:2]
    for i in range(50):  # 50 documents: an agency holding a copy is not sent the same one again
        doc = sealed_document(services.engine, world, content=f"%PDF-1.7 bench {i}".encode())
        dispatch_document(services, caller_for(world, "clerk"), doc, Recipients(to=(full, empty)), f"bench-{i}")
    services.close()
    return {"full": world.agency_tokens[full], "empty": world.agency_tokens[empty], "cursor": "50"}


def wrk(url: str, token: str | None, seconds: int, connections: int) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: \d+", out):
        raise SystemExit(f"wrk saw errors on {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def poll_bench_args(description: str) -> argparse.Namespace:
    """The options the polling benchmarks (this one, bench/events.py) share."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url", default="")
    return parser.parse_args()


def measure(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    """Seed ``url``, serve it, and run the three endpoints alternately: req/s per round."""
    tokens = seed(url, tmp)
    env = {"LIENTHONG_DATA_DIR": str(tmp), "LIENTHONG_DATABASE_URL": url}
    with gunicorn("app:create_app()", env) as base:
        empty_url = f"{base}/api/v1/inbox?after={tokens['cursor']}"
        full_url = f"{base}/api/v1/inbox?limit=50"
        check = urllib.request.Request(full_url, headers={"Authorization": f"Bearer {tokens['full']}"})
        assert len(json.load(urllib.request.urlopen(check))["items"]) == 50
        check = urllib.request.Request(empty_url, headers={"Authorization": f"Bearer {tokens['empty']}"})
        assert json.load(urllib.request.urlopen(check))["items"] == []
        runs: dict[str, list[float]] = {"healthz": [], "empty": [], "fifty": []}
        for _ in range(args.rounds):  # alternate, so that each round's three runs share the load
            runs["healthz"].append(wrk(f"{base}/healthz", None, args.seconds, args.connections))
            runs["empty"].append(wrk(empty_url, tokens["empty"], args.seconds, args.connections))
            runs["fifty"].append(wrk(full_url, tokens["full"], args.seconds, args.connections))
    return runs


def ratios(runs: dict[str, list[float]]) -> dict[str, float]:
    return {k: statistics.median(r / h for r, h in zip(runs[k], runs["healthz"], strict=True))
            for k in ("empty", "fifty")}


def main() -> None:
    args = poll_bench_args(__doc__.splitlines()[0])
    pg_url = args.database_url or os.environ.get("LIENTHONG_TEST_DATABASE_URL", "")
    sys.path.insert(0, str(ROOT / "bench"))
    from dispatch import database  # the same temporary SQLite file / private PostgreSQL schema

    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = measure(f"sqlite:///{tmp}/lienthong.db", Path(tmp), args)
    if pg_url:
        with tempfile.TemporaryDirectory() as tmp, database(pg_url) as url:
            results["PostgreSQL"] = measure(url, Path(tmp), args)
    else:
        print("no --database-url nor LIENTHONG_TEST_DATABASE_URL: SQLite only")
    print(f"gunicorn -k {WORKER_CLASS} -w {WORKERS}; wrk -t1 -c{args.connections} -d{args.seconds}s; "
          f"{args.rounds} alternating rounds (req/s: best; ratios: median of the per-round ratios)")
    kinds = list(results)
    print(f"{'':34}" + "".join(f"{k:>24}" for k in kinds))
    for name, label in (("healthz", "/healthz (bare, no auth)"), ("empty", "empty inbox poll (agency token)"),
                        ("fifty", "inbox poll returning 50 items")):
        cells = []
        for k in kinds:
            best = max(results[k][name])
            cells.append(f"{best:8.0f} req/s" if name == "healthz" else f"{best:8.0f} req/s {ratios(results[k])[name]:.2f}×")
        print(f"{label:34}" + "".join(f"{c:>24}" for c in cells))
    for k in kinds:
        r = ratios(results[k])
        print(f"ratio {k} 50 items/healthz: {r['fifty']:.2f} (target ≥ 0.25)")
    print(" ".join(f"ratio {k} empty poll/healthz: {ratios(results[k])['empty']:.2f};" for k in kinds)
          + " (target ≥ 0.7)")


if __name__ == "__main__":
    main()
