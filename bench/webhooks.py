"""Webhook deliveries per second beside bare signed POSTs of the same bodies, same run.

- *ours*: the worker's loop (``exchange.worker.webhooks.run``, in this process) delivering a
  subscription's pending events to the shipped receiver (client/webhook_receiver.py under
  http.server on 127.0.0.1): per event, the lease renewed and the attempt counted (one write
  transaction), the event read from the feed, the body signed, the address checked, the
  POST, the answer logged and the cursor moved (a second write transaction);
- *bare*: the same bodies, signed the same way, POSTed one after another to another instance
  of the same receiver through the same HTTP function (``exchange.adapters.webhook_http.post``,
  with its address check) — the least a delivery costs without its bookkeeping.

Each round dispatches ``--events`` fresh documents first (untimed), then times both; rounds
alternate ours/bare and the median counts. Last line: the ratio of the medians.

    .venv/bin/python bench/webhooks.py [--events 200] [--rounds 3] [--database-url URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    args = parser.parse_args()

    import orjson

    import bootstrap
    from client.webhook_receiver import WebhookReceiver, make_server
    from exchange.adapters import webhook_http
    from exchange.services import events, webhooks
    from exchange.services.dispatch import Recipients, dispatch_document
    from exchange.worker.webhooks import run
    from settings import Settings
    from storage.db import make_engine
    from storage.schema import import_all_models
    from tests.exchange_fixtures import build_world, caller_for
    from tests.db import session_scope
    from tests.integration.exchange.delivery_support import sealed_document

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    import_all_models().create_all(engine)
    engine.dispose()
    svc = bootstrap.build(Settings(data_dir=tmp / "var", database_url=url, webhooks_allow_private=True,
                                   worker_poll_s=0.05))
    with session_scope(svc.engine, write=True) as session:
        w = build_world(session)
    commune = w.all_communes[0]

    received = {"ours": 0, "bare": 0}

    def counter(name: str):  # type: ignore[no-untyped-def]
        def handle(_event: dict) -> None:
            received[name] += 1
        return handle

    hook = webhooks.subscribe(svc, caller_for(w, commune), "http://127.0.0.1:9/placeholder")
    servers = {name: make_server(WebhookReceiver(hook["secret"], counter(name))) for name in received}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with session_scope(svc.engine, write=True) as session:
        from exchange.models import WebhookSubscription

        session.get(WebhookSubscription, hook["id"]).url = f"http://127.0.0.1:{servers['ours'].server_port}/hook"
    bare_url = f"http://127.0.0.1:{servers['bare'].server_port}/hook"

    ours_rates: list[float] = []
    bare_rates: list[float] = []
    cursor = 0
    for round_ in range(args.rounds):
        for _ in range(args.events):
            doc = sealed_document(svc.engine, w)
            dispatch_document(svc, caller_for(w, "clerk"), doc, Recipients(to=(commune,)), f"b-{doc}")
        items = events.read(svc, w.agency_ids[commune], cursor, args.events)
        cursor = items[-1]["seq"]

        target = received["ours"] + args.events
        stop = threading.Event()
        started = time.perf_counter()
        worker = threading.Thread(target=run, args=(svc, stop), kwargs={"concurrency": 1})
        worker.start()
        while received["ours"] < target:
            time.sleep(0.002)
        ours_rates.append(args.events / (time.perf_counter() - started))
        stop.set()
        worker.join()

        started = time.perf_counter()
        for item in items:
            body = orjson.dumps(item)
            headers = {webhooks.EVENT_ID_HEADER: str(item["id"]),
                       webhooks.SIGNATURE_HEADER: webhooks.signature(hook["secret"], int(time.time()), body)}
            answer = webhook_http.post(bare_url, body, headers, timeout=10, allow_private=True)
            assert answer.ok, answer
        bare_rates.append(args.events / (time.perf_counter() - started))
        print(f"round {round_ + 1}: ours {ours_rates[-1]:7.1f} events/s   bare {bare_rates[-1]:7.1f} POSTs/s",
              flush=True)

    svc.close()
    for server in servers.values():
        server.shutdown()
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    ours, bare = statistics.median(ours_rates), statistics.median(bare_rates)
    print(f"webhook deliveries ({database}, {args.events} events a round, median of {args.rounds}): "
          f"ours {ours:.1f} events/s, bare signed POSTs {bare:.1f}/s")
    print(f"ratio ours/bare: {ours / bare:.2f}")


if __name__ == "__main__":
    main()
