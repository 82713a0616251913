"""The agency client end to end: documents per second that ``lienthong-client pull`` delivers
into one agency's folder, beside the raw download rate of the same documents with the same
HTTP library (httpx), same server, same run.

The app runs under gunicorn (the workers docs/deployment.md recommends) on 127.0.0.1 with a
temporary data folder (SQLite) or ``--database-url`` (PostgreSQL, a private schema dropped
afterwards). ``--documents`` sealed documents of ``--kb`` KB each are dispatched to one commune
per round; then, alternating which goes first:

- client: ``client.pull.Puller.run(once=True)`` (the ``pull --once`` command without the
  interpreter's start): inbox pages, every download with its SHA-256 checked, the metadata
  JSON, the ack, the receipt verified with the published key, the fsyncs and the atomic
  cursor after each document;
- raw: one ``httpx.Client`` with the same token GETs each document's ``content_url``, one
  after the other, reading the body (no hashing, no writing);
- for comparison, the protocol's floor without the client: the same httpx, for another
  commune's copies, GET then ``POST …/ack`` for each document, one after the other (the ack
  is a write on the server: the audit chain, the events feed, the signed receipt).

    .venv/bin/python bench/client.py [--documents 100] [--kb 100] [--rounds 3] [--database-url URL]

Target: client ≥ 0.5× raw (the last line prints the median of the per-round ratios). The
events feed's empty poll beside ``/healthz`` (target ≥ 0.7×) is bench/events.py's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.gunicorn_support import WORKER_CLASS, WORKERS, gunicorn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    import httpx

    from client.api import Api
    from client.pull import Puller
    from exchange.models import Agency
    from exchange.services import accounts
    from storage.migrations import upgrade
    from tests.db import build_services, session_scope
    from tests.e2e.client_support import send_document
    from tests.exchange_fixtures import build_world

    # after the client's package is imported: on the path, bench/ holds this very client.py
    sys.path.insert(0, str(ROOT / "bench"))
    from dispatch import database  # the same temporary SQLite file / private PostgreSQL schema

    rounds = args.rounds
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url or None) as url:
        if not args.database_url:
            url = f"sqlite:///{tmp}/lienthong.db"
        upgrade(url)
        services = build_services(url, Path(tmp) / "var")
        with session_scope(services.engine, write=True) as session:
            world = build_world(session)
            province = world.agency_ids[world.province]
            for i in range(2 * rounds):  # two communes a round: the client's and the download+ack floor's
                code = f"{i:03d}.98.01.H62"
                agency = Agency(code=code, name=f"Xã đo {i}", level="commune", parent_id=province)
                session.add(agency)
                session.flush()
                world.agency_tokens[code] = accounts.add_token(session, agency_id=agency.id, actor="bench")[1]
        communes = [f"{i:03d}.98.01.H62" for i in range(2 * rounds)]
        for i in range(args.documents):
            send_document(services, world, communes, f"bench-{i}", kilobytes=args.kb)
        services.close()
        env = {"LIENTHONG_DATA_DIR": str(Path(tmp) / "var"), "LIENTHONG_DATABASE_URL": url}
        client_rates: list[float] = []
        raw_rates: list[float] = []
        floor_rates: list[float] = []
        with gunicorn("app:create_app()", env) as base:
            for n in range(rounds):
                commune, other = communes[2 * n], communes[2 * n + 1]
                token = world.agency_tokens[commune]

                def raw(token: str = token, ack: bool = False) -> float:
                    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
                        items = http.get("/api/v1/inbox", params={"limit": 200}).json()["items"]
                        assert len(items) == args.documents
                        started = time.perf_counter()
                        for item in items:
                            response = http.get(item["content_url"])
                            assert response.status_code == 200 and len(response.content) >= args.kb * 1024
                            if ack:
                                assert http.post(f"/api/v1/inbox/{item['delivery_id']}/ack").status_code == 200
                        return args.documents / (time.perf_counter() - started)

                def pulled(token: str = token, commune: str = commune) -> float:
                    api = Api(base, token)
                    started = time.perf_counter()
                    puller = Puller(api, Path(tmp) / f"out-{commune}", wait=0)
                    puller.run(once=True)
                    elapsed = time.perf_counter() - started
                    api.close()
                    assert puller.summary.downloaded == args.documents == puller.summary.receipts_verified
                    return args.documents / elapsed

                if n % 2:  # alternate which goes first
                    client_rates.append(pulled())
                    raw_rates.append(raw())
                else:
                    raw_rates.append(raw())
                    client_rates.append(pulled())
                floor_rates.append(raw(world.agency_tokens[other], ack=True))
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    ratio = statistics.median(c / r for c, r in zip(client_rates, raw_rates, strict=True))
    floor_ratio = statistics.median(c / r for c, r in zip(client_rates, floor_rates, strict=True))
    print(f"gunicorn -k {WORKER_CLASS} -w {WORKERS}; {kind}; {args.documents} documents of {args.kb} KB, "
          f"{rounds} rounds (fresh communes each, client and raw alternating which goes first); docs/s: best round, "
          f"ratios: median of the rounds'")
    print(f"raw download, httpx, one after another:      {max(raw_rates):8.1f} docs/s  "
          f"({max(raw_rates) * args.kb / 1024:.1f} MB/s)  rounds: {', '.join(f'{r:.1f}' for r in raw_rates)}")
    print(f"download + ack, httpx, one after another:    {max(floor_rates):8.1f} docs/s  "
          f"rounds: {', '.join(f'{r:.1f}' for r in floor_rates)}")
    print(f"lienthong-client pull (4 at a time: download, SHA-256, metadata, ack, receipt, fsync, cursor): "
          f"{max(client_rates):8.1f} docs/s  rounds: {', '.join(f'{r:.1f}' for r in client_rates)}")
    print(f"ratio client/(download + ack): {floor_ratio:.2f} (for comparison)")
    print(f"ratio client/raw: {ratio:.2f} (target ≥ 0.5)")


if __name__ == "__main__":
    main()
