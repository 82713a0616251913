"""The events feed under gunicorn: an empty poll beside ``/healthz`` of the same app, same
server, same configuration, same run.

The app runs under gunicorn with the workers docs/deployment.md recommends (gevent), on
127.0.0.1, with a temporary data folder (SQLite) or ``--database-url`` (PostgreSQL, a private
schema dropped afterwards). ``wrk`` drives each endpoint in turn, alternating, for
``--rounds`` rounds (the machine is shared and noisy: the ratio is the median of the
per-round ratios).

- healthz: ``GET /healthz`` (no authentication, no database);
- empty poll: ``GET /api/v1/events?after=<cursor>`` for an agency with nothing new, with its
  agency token (authentication included: one token lookup per request);
- for comparison, the same agency's empty inbox poll (``GET /api/v1/inbox?after=<cursor>``).

    .venv/bin/python bench/events.py [--seconds 4] [--rounds 5] [--connections 32] [--database-url URL]

Target: empty poll ≥ 0.7× healthz (the last line prints the ratio).
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.gunicorn_support import WORKER_CLASS, WORKERS, gunicorn  # noqa: E402


def seed(url: str, data_dir: Path) -> dict[str, str]:
    """The test world, 20 deliveries acknowledged by one commune: events on both sides."""
    from exchange.services import delivery
    from exchange.services.dispatch import Recipients, dispatch_document
    from storage.migrations import upgrade
    from tests.db import build_services, session_scope
    from tests.exchange_fixtures import build_world, caller_for
    from tests.integration.exchange.delivery_support import sealed_document

    upgrade(url)
    services = build_services(url, data_dir)
    with session_scope(services.engine, write=True) as session:
        world = build_world(session)
    commune = world.all_communes[0]
    for i in range(20):
        doc = sealed_document(services.engine, world, content=f"%PDF-1.7 bench {i}".encode())
        view, _ = dispatch_document(services, caller_for(world, "clerk"), doc, Recipients(to=(commune,)), f"b-{i}")
        delivery.acknowledge(services, caller_for(world, commune), view["deliveries"][0]["id"])
    services.close()
    return {"token": world.agency_tokens[commune], "cursor": "20"}


def main() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from dispatch import database  # the same temporary SQLite file / private PostgreSQL schema
    from inbox import poll_bench_args, wrk  # the same options and wrk run (refusing any non-2xx answer)

    args = poll_bench_args(__doc__.splitlines()[0])

    with tempfile.TemporaryDirectory() as tmp, database(args.database_url or None) as url:
        if not args.database_url:
            url = f"sqlite:///{tmp}/lienthong.db"
        seeded = seed(url, Path(tmp))
        env = {"LIENTHONG_DATA_DIR": tmp, "LIENTHONG_DATABASE_URL": url}
        with gunicorn("app:create_app()", env, probe="/healthz") as base:
            empty_url = f"{base}/api/v1/events?after={seeded['cursor']}"
            auth = {"Authorization": f"Bearer {seeded['token']}"}
            full = json.load(urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/events", headers=auth)))
            assert [e["seq"] for e in full["items"]] == list(range(1, 21))
            empty = json.load(urllib.request.urlopen(urllib.request.Request(empty_url, headers=auth)))
            assert empty["items"] == []
            inbox_url = f"{base}/api/v1/inbox?after=20"
            runs: dict[str, list[float]] = {"healthz": [], "empty": [], "inbox": []}
            for _ in range(args.rounds):  # alternate, so that each round's runs share the load
                runs["healthz"].append(wrk(f"{base}/healthz", None, args.seconds, args.connections))
                runs["empty"].append(wrk(empty_url, seeded["token"], args.seconds, args.connections))
                runs["inbox"].append(wrk(inbox_url, seeded["token"], args.seconds, args.connections))
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    ratio = statistics.median(e / h for e, h in zip(runs["empty"], runs["healthz"], strict=True))
    inbox_ratio = statistics.median(e / h for e, h in zip(runs["inbox"], runs["healthz"], strict=True))
    print(f"gunicorn -k {WORKER_CLASS} -w {WORKERS}; {kind}; wrk -t1 -c{args.connections} -d{args.seconds}s; "
          f"{args.rounds} alternating rounds (req/s: best; ratio: median of the per-round ratios)")
    print(f"/healthz (no auth, no database):     {max(runs['healthz']):8.0f} req/s")
    print(f"empty events poll (agency token):    {max(runs['empty']):8.0f} req/s")
    print(f"empty inbox poll (same agency):      {max(runs['inbox']):8.0f} req/s")
    print(f"ratio empty inbox poll/healthz: {inbox_ratio:.2f} (for comparison)")
    print(f"ratio empty events poll/healthz: {ratio:.2f} (target ≥ 0.7)")


if __name__ == "__main__":
    main()
