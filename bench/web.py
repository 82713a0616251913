"""The web pages' speed with a full inbox: ``/incoming`` and ``/documents/<id>`` for a clerk
whose agency holds 10,000 deliveries, beside ``/healthz`` of the same server, same run.

The app runs under gunicorn (2 gevent workers, docs/deployment.md), on 127.0.0.1, with a
temporary data folder (SQLite) or ``--database-url`` (PostgreSQL, a private schema dropped
afterwards). The deliveries are written in bulk (one PDF, stored once: content-addressed);
the district clerk logs in through the login form. Each page is then asked ``--requests``
times in turn over one keep-alive connection (sequential: the time is the server's plus a
loopback round trip), alternating the three, after a warm-up (the first preview is drawn).

    .venv/bin/python bench/web.py [--deliveries 10000] [--requests 60] [--database-url URL]

Target: the median of /incoming and of /documents/<id> under 150 ms.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.gunicorn_support import WORKER_CLASS, WORKERS, gunicorn  # noqa: E402


def seed(url: str, data_dir: Path, deliveries: int) -> tuple[str, str, int]:
    """The test world and ``deliveries`` documents sent to one district; the district clerk's
    username and password, and the id of the newest document."""
    import io

    import sqlalchemy as sa

    from exchange.models import Delivery, Dispatch, Document, Revision, utcnow
    from storage.migrations import upgrade
    from tests.db import build_services, session_scope
    from tests.exchange_fixtures import build_world, make_pdf

    upgrade(url)
    services = build_services(url, data_dir)
    with session_scope(services.engine, write=True) as session:
        world = build_world(session)
    ref = services.blobs.put(io.BytesIO(make_pdf("Công văn thử tốc độ", pages=2)))
    district = world.districts[0]
    sender, recipient = world.agency_ids[world.province], world.agency_ids[district]
    urgencies = ("normal", "normal", "normal", "urgent", "very_urgent", "flash")
    with session_scope(services.engine, write=True) as session:
        now = utcnow()
        first = (session.execute(sa.select(sa.func.max(Document.id))).scalar() or 0) + 1
        session.execute(sa.insert(Document), [
            {"id": first + i, "issuer_agency_id": sender, "number": str(i + 1), "notation": "UBND-VP",
             "doc_type": "Công văn", "subject": f"V/v thử tốc độ trang văn bản đến số {i + 1}",
             "search_text": f"v/v thu toc do {i + 1}", "urgency": urgencies[i % len(urgencies)],
             "confidentiality": "normal", "issued_on": date(2026, 11, 20), "place": "", "signer_name": "",
             "signer_position": "", "state": "sent", "created_at": now, "updated_at": now}
            for i in range(deliveries)])
        session.execute(sa.insert(Revision), [
            {"id": first + i, "document_id": first + i, "seq": 1, "blob_sha256": ref.sha256, "size": ref.size,
             "kind": "signed", "profile": "seal", "level": "B-LT", "created_at": now} for i in range(deliveries)])
        session.execute(sa.insert(Dispatch), [
            {"id": first + i, "document_id": first + i, "revision_id": first + i, "sender_agency_id": sender,
             "idempotency_key": f"bench-{i}", "already_delivered": "[]", "request_sha256": "0" * 64,
             "created_at": now} for i in range(deliveries)])
        session.execute(sa.insert(Delivery), [
            {"dispatch_id": first + i, "document_id": first + i, "recipient_agency_id": recipient,
             "addressed_agency_id": recipient, "seq": i + 1, "status": "queued", "trace": "[]",
             "created_at": now, "updated_at": now} for i in range(deliveries)])
    services.close()
    return world.people["district_clerk"].username, world.password, first + deliveries - 1


def log_in(base: str, username: str, password: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = web.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": token},
                 allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text
    return web


def timed(web: requests.Session, url: str, expect: str) -> float:
    started = time.perf_counter()
    r = web.get(url, timeout=60)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200 and expect in r.text, (url, r.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from dispatch import database  # the same temporary SQLite file / private PostgreSQL schema

    with tempfile.TemporaryDirectory() as tmp, database(args.database_url or None) as url:
        if not args.database_url:
            url = f"sqlite:///{tmp}/lienthong.db"
        username, password, newest = seed(url, Path(tmp), args.deliveries)
        env = {"LIENTHONG_DATA_DIR": tmp, "LIENTHONG_DATABASE_URL": url}
        with gunicorn("app:create_app()", env) as base:
            web = log_in(base, username, password)
            pages = {"healthz": (f"{base}/healthz", "ok"),
                     "incoming": (f"{base}/incoming", f"trang văn bản đến số {args.deliveries}"),
                     "document": (f"{base}/documents/{newest}", f"trang văn bản đến số {args.deliveries}")}
            for url_, expect in pages.values():  # warm-up: both workers, the first preview drawn
                for _ in range(4):
                    timed(web, url_, expect)
            web.get(f"{base}/documents/{newest}/revisions/1/pages/1.png", timeout=60).raise_for_status()
            runs: dict[str, list[float]] = {name: [] for name in pages}
            for _ in range(args.requests):
                for name, (url_, expect) in pages.items():
                    runs[name].append(timed(web, url_, expect))
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    med = {name: statistics.median(values) * 1000 for name, values in runs.items()}
    print(f"gunicorn -k {WORKER_CLASS} -w {WORKERS}; {kind}; {args.deliveries} deliveries in the clerk's inbox; "
          f"{args.requests} sequential requests per page over one connection (median wall time, ms)")
    print(f"/healthz (baseline):           {med['healthz']:7.1f} ms")
    print(f"/incoming (newest 50):         {med['incoming']:7.1f} ms   (target < 150 ms)")
    print(f"/documents/<id> (recipient):   {med['document']:7.1f} ms   (target < 150 ms)")
    print(f"ratio /incoming ÷ /healthz: {med['incoming'] / med['healthz']:.1f}; "
          f"/documents/<id> ÷ /healthz: {med['document'] / med['healthz']:.1f}")


if __name__ == "__main__":
    main()
