"""Load and soak: two gunicorn app processes on one database and one S3 server, many senders
and polling agencies for minutes; afterwards nothing lost, nothing doubled, numbers gapless,
the audit chain intact. Throughput and p50/p99 per endpoint beside ``/healthz`` measured in
the same run, under the same load.

- two gunicorn processes (``tests/e2e/gunicorn_support.py``, gevent workers: one each by
  default, ``--workers``: each worker's pool may hold 15 PostgreSQL connections and its
  listener one more, and the server's 100 are shared with other work here) share one
  PostgreSQL database (a private schema, migrated to head, dropped afterwards) and one S3
  server (moto's server mode, ``python -m tests.s3server``, in its own process); clients take
  the two servers in turn, request by request, as behind a load balancer: a dispatch made
  on one wakes a long-poll parked on the other;
- ``--senders`` clerks (in ``--sender-agencies`` agencies: several clerks number in one
  register at once) loop: upload (``Idempotency-Key``), register (the outgoing number),
  dispatch to 1..``--recipients`` random polling agencies (``Idempotency-Key``). The two
  signatures are stood in for by setting the document's state in the database (as
  ``tests/e2e/test_inbox_under_load.py`` does): a person signature and a seal through the API
  cost 100–500 ms of CPU each on this machine (docs/benchmarks.md, ``bench/sign_http.py``),
  which would make this a signing benchmark;
- ``--pollers`` agency systems loop: long-poll the inbox (``wait``), download each item
  (SHA-256 checked against the inbox's), ack it, accept it (03: the incoming number);
- one client per server calls ``GET /healthz`` ten times a second: the baseline, the
  latency of the cheapest request under the same load.

After the load stops, the pollers drain what is left; then the checks (``Soak.failures``):
every delivery the service holds was answered to a sender, seen, downloaded and acked
exactly once by its recipient and has exactly one ``delivered`` and one ``accepted`` status
event; every document was uploaded once; every register (agency, book, year) is numbered
1..n without gaps, as many outgoing numbers as registrations and incoming ones as
acceptances; ``flask --app app audit verify`` passes; no request failed (clients retry a 503
with ``Retry-After``, and a request left unanswered where resending is safe: ``Soak.retries``
counts them); the servers' logs hold no error and no traceback.

    .venv/bin/python bench/soak.py [--duration 600] [--senders 50] [--sender-agencies 10]
        [--pollers 200] [--wait 10] [--workers 1] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

(``--database-url ''``: a temporary SQLite file instead, the embedded default, for comparison.)

``make soak`` runs it with the defaults (10 minutes); ``tests/e2e/test_soak.py`` runs the same
code for ~12 s with 10 senders and 40 pollers and asserts the checks (never timings).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.e2e.gunicorn_support import WORKER_CLASS, gunicorn, server_env  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BUCKET = "lienthong-soak"
HEALTHZ_PER_S = 10
RETRIES = 5  # a 503 with Retry-After is tried again, up to this many times
RETRY_AFTER_MAX_S = 5
ROOT_CODE = "000.00.00.K00"
ENDPOINTS = {  # key → the label printed
    "upload": "POST /api/v1/documents",
    "register": "POST /api/v1/documents/{id}/register",
    "dispatch": "POST /api/v1/documents/{id}/dispatches",
    "poll": "GET /api/v1/inbox (long-poll)",
    "download": "GET /api/v1/documents/{id}/content",
    "ack": "POST /api/v1/inbox/{id}/ack",
    "accept": "POST /api/v1/inbox/{id}/status (03)",
    "healthz": "GET /healthz (baseline)",
}


@dataclass(frozen=True)
class SoakConfig:
    duration: float = 600.0  # seconds of load (senders stop then; pollers drain)
    senders: int = 50
    sender_agencies: int = 10
    pollers: int = 200
    wait: int = 10  # the long-poll's wait, seconds
    recipients: int = 3  # each dispatch goes to 1..recipients polling agencies
    drain_timeout: float = 120.0
    timeout: float = 60.0  # per request
    workers: int = 1  # gunicorn workers per app process (see the module's docstring)


@dataclass
class Sender:
    agency_code: str
    token: str


@dataclass
class Poller:
    agency_code: str
    token: str


@dataclass
class Soak:
    """What the clients saw, and the checks made afterwards."""
    config: SoakConfig
    database: str = ""
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)  # "endpoint error code or exception" → tried again
    uploaded: int = 0
    registered: list[tuple[str, int]] = field(default_factory=list)  # (agency code, number)
    dispatched: dict[int, float] = field(default_factory=dict)  # delivery id → when the dispatch answered
    seen: Counter[int] = field(default_factory=Counter)
    seen_after: list[float] = field(default_factory=list)  # dispatch answered → item in an inbox, seconds
    downloads: Counter[int] = field(default_factory=Counter)
    acks: Counter[int] = field(default_factory=Counter)
    accepts: Counter[int] = field(default_factory=Counter)
    load_seconds: float = 0.0
    drain_seconds: float = 0.0
    audit_events: int = 0
    books: dict[str, int] = field(default_factory=dict)  # register kind → books checked
    failures: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds: seed, start, checks, stop
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


# --- the parts: S3, the world, two servers ---------------------------------------------

@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server in a process of its own (its own GIL); yields ``host:port``."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.s3server"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        endpoint = proc.stdout.readline().strip()
        if not endpoint:
            raise RuntimeError("the S3 server did not start")
        yield endpoint
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def seed(url: str, config: SoakConfig) -> tuple[list[Sender], list[Poller]]:
    """Sender agencies with their clerks' tokens, polling agencies with their systems' tokens."""
    from exchange.models import Agency
    from exchange.services import accounts
    from storage.db import make_engine
    from tests.db import session_scope

    accounts.use_fast_hashing_for_tests()  # the clerks never log in (tokens): no need for slow hashes
    engine = make_engine(url)
    senders: list[Sender] = []
    pollers: list[Poller] = []
    with session_scope(engine, write=True) as session:
        root = Agency(code=ROOT_CODE, name="UBND tỉnh Thử Tải", level="province")
        session.add(root)
        session.flush()
        codes = []
        for a in range(config.sender_agencies):
            agency = Agency(code=f"000.00.{a + 1:02d}.K00", name=f"Sở Thử Tải {a + 1}", level="department",
                            parent_id=root.id)
            session.add(agency)
            codes.append(agency.code)
        for i in range(config.senders):
            code = codes[i % len(codes)]
            user = accounts.add_user(session, username=f"soak.clerk{i}", agency_code=code, roles=["clerk"],
                                     full_name=f"Văn thư {i}", position="Văn thư",
                                     password=secrets.token_urlsafe(24), actor="soak")
            senders.append(Sender(code, accounts.add_token(session, user_id=user.id, name="soak", actor="soak")[1]))
        for p in range(config.pollers):
            agency = Agency(code=f"{p + 1:03d}.00.00.K00", name=f"Xã Thử Tải {p + 1}", level="commune",
                            parent_id=root.id)
            session.add(agency)
            session.flush()
            pollers.append(Poller(agency.code, accounts.add_token(session, agency_id=agency.id, name="system",
                                                                  actor="soak")[1]))
    engine.dispose()
    return senders, pollers


def app_env(url: str, data_dir: Path, s3_endpoint: str) -> dict[str, str]:
    from tests.s3server import MOTO_ACCESS_KEY, MOTO_SECRET_KEY

    return {"LIENTHONG_DATA_DIR": str(data_dir), "LIENTHONG_DATABASE_URL": url,
            "LIENTHONG_S3_ENDPOINT": s3_endpoint, "LIENTHONG_S3_ACCESS_KEY": MOTO_ACCESS_KEY,
            "LIENTHONG_S3_SECRET_KEY": MOTO_SECRET_KEY, "LIENTHONG_S3_BUCKET": BUCKET}


# --- the clients -----------------------------------------------------------------------

class Client:
    """One client's HTTP session, taking the servers in turn; every call timed under its key."""

    def __init__(self, soak: Soak, bases: list[str], token: str) -> None:
        self.soak, self.bases, self.turn = soak, bases, random.randrange(len(bases))
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, key: str, method: str, path: str, expect: tuple[int, ...] = (200,), **kw: Any
             ) -> requests.Response | None:
        """The answer when it has the ``expect``ed status, else None (the failure recorded). A 503
        with ``Retry-After`` is tried again after it (at most ``RETRIES`` times), as the API asks
        of its clients, and so is a request left without an answer when sending it again is
        safe; ``Soak.retries`` counts both."""
        for attempt in range(RETRIES + 1):
            self.turn = (self.turn + 1) % len(self.bases)
            started = time.perf_counter()
            try:
                r = self.http.request(method, self.bases[self.turn] + path, timeout=self.soak.config.timeout, **kw)
            except requests.RequestException as exc:
                # no answer (timed out, connection lost): what may be sent again is, as a client
                # must — reads, the ack (repeat = same receipt), writes with an Idempotency-Key
                if attempt < RETRIES and (method == "GET" or key == "ack" or "Idempotency-Key" in kw.get("headers", {})):
                    with self.soak.lock:
                        self.soak.retries[f"{key} {type(exc).__name__}"] += 1
                    continue
                self.soak.fail(f"{key}: {type(exc).__name__}: {exc}")
                return None
            self.soak.latencies[key].append(time.perf_counter() - started)
            if r.status_code == 503 and r.headers.get("Retry-After", "").isdigit() and attempt < RETRIES:
                with self.soak.lock:
                    self.soak.retries[f"{key} {r.json()['error']['code']}"] += 1
                time.sleep(min(int(r.headers["Retry-After"]), RETRY_AFTER_MAX_S))
                continue
            break
        if r.status_code not in expect:
            self.soak.fail(f"{key}: {r.status_code} {r.text[:300]}")
            return None
        return r


def sender_loop(soak: Soak, bases: list[str], sender: Sender, index: int, codes: list[str], engine: sa.Engine,
                until: float) -> None:
    from exchange.models import Document
    from tests.exchange_fixtures import DOCUMENT_METADATA, make_pdf

    def stand_in(doc_id: int, state: str) -> None:  # for the signature that would make it so
        for attempt in range(RETRIES + 1):
            try:
                with engine.begin() as conn:
                    conn.execute(sa.update(Document).where(Document.id == doc_id).values(state=state))
                return
            except sa.exc.OperationalError:  # SQLite's writer lock, busy beyond its timeout
                if attempt == RETRIES:
                    raise

    client = Client(soak, bases, sender.token)
    n = 0
    while time.monotonic() < until:
        n += 1
        key = f"soak-{index}-{n}"
        meta = {**{k: v for k, v in DOCUMENT_METADATA.items() if k != "number"},  # the register numbers it
                "subject": f"V/v thử tải số {n} của văn thư {index}"}
        up = client.call("upload", "POST", "/api/v1/documents", expect=(201,), headers={"Idempotency-Key": key},
                         files={"file": ("van-ban.pdf", make_pdf(f"soak {index} {n}"), "application/pdf")},
                         data={"metadata": json.dumps(meta)})
        if up is None:
            continue
        doc = up.json()["id"]
        with soak.lock:
            soak.uploaded += 1
        stand_in(doc, "signed")
        numbered = client.call("register", "POST", f"/api/v1/documents/{doc}/register", json={},
                               headers={"Idempotency-Key": key})
        if numbered is None:
            continue
        with soak.lock:
            soak.registered.append((sender.agency_code, numbered.json()["register"]["number"]))
        stand_in(doc, "sealed")
        to = random.sample(codes, random.randint(1, soak.config.recipients))
        # 200: the same key and body again (a retry of a dispatch made): the first answer
        sent = client.call("dispatch", "POST", f"/api/v1/documents/{doc}/dispatches", expect=(200, 201),
                           headers={"Idempotency-Key": key}, json={"to": to})
        if sent is None:
            continue
        at = time.monotonic()
        with soak.lock:
            for d in sent.json()["deliveries"]:
                soak.dispatched[d["id"]] = at


def poller_loop(soak: Soak, bases: list[str], poller: Poller, stop: threading.Event) -> None:
    client = Client(soak, bases, poller.token)
    cursor = "0"
    while not stop.is_set():
        page = client.call("poll", "GET", "/api/v1/inbox", params={"after": cursor, "limit": 50,
                                                                   "wait": soak.config.wait})
        if page is None:
            time.sleep(0.5)
            continue
        body = page.json()
        for item in body["items"]:
            receive(soak, client, poller, item)
        cursor = body["next_cursor"]


def receive(soak: Soak, client: Client, poller: Poller, item: dict[str, Any]) -> None:
    did = item["delivery_id"]
    now = time.monotonic()
    with soak.lock:
        soak.seen[did] += 1
        if did in soak.dispatched:
            soak.seen_after.append(now - soak.dispatched[did])
    if "content_url" not in item:
        soak.fail(f"delivery {did} to {poller.agency_code} came as a tombstone: {item}")
        return
    pdf = client.call("download", "GET", item["content_url"])
    if pdf is not None:
        if hashlib.sha256(pdf.content).hexdigest() != item["document"]["sha256"]:
            soak.fail(f"delivery {did}: the downloaded bytes are not the inbox's SHA-256")
        with soak.lock:
            soak.downloads[did] += 1
    if client.call("ack", "POST", f"/api/v1/inbox/{did}/ack") is None:
        return  # recorded; accepting what was not acknowledged would only add a 409
    with soak.lock:
        soak.acks[did] += 1
    if client.call("accept", "POST", f"/api/v1/inbox/{did}/status", json={"status": "accepted"}) is not None:
        with soak.lock:
            soak.accepts[did] += 1


def healthz_loop(soak: Soak, base: str, stop: threading.Event) -> None:
    """Paced (``HEALTHZ_PER_S`` a server), so that the baseline measures the load, not itself."""
    client = Client(soak, [base], "")
    del client.http.headers["Authorization"]
    while not stop.wait(1 / HEALTHZ_PER_S):
        client.call("healthz", "GET", "/healthz")


def _threads(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, args=a, daemon=True) for a in args]
    for t in threads:
        t.start()
    return threads


# --- the run and its checks -------------------------------------------------------------

def run_soak(config: SoakConfig, url: str, work: Path) -> Soak:
    """The whole soak on the (empty, migrated) database ``url``; ``work`` holds the data folder."""
    from storage.db import make_engine

    soak = Soak(config, database="PostgreSQL" if url.startswith("postgresql") else "SQLite")
    clock = time.monotonic()

    def phase(name: str) -> None:
        nonlocal clock
        soak.phases[name], clock = time.monotonic() - clock, time.monotonic()

    senders, pollers = seed(url, config)
    phase("seed")
    data_dir = work / "var"
    with ExitStack() as stack:
        s3 = stack.enter_context(s3_server())
        env = app_env(url, data_dir, s3)
        # one after the other: the first creates the data folder's keys and the bucket
        logs = [work / f"gunicorn-{i}.log" for i in range(2)]
        bases = [stack.enter_context(gunicorn("app:create_app()", env, workers=config.workers,
                                              output=stack.enter_context(log.open("wb")))) for log in logs]
        # the signatures' stand-ins: one small pool for all senders (PostgreSQL's max_connections is shared)
        engine = make_engine(url, **({"pool_size": 2, "max_overflow": 2} if url.startswith("postgresql") else {}))
        stack.callback(engine.dispose)
        phase("start")
        codes = [p.agency_code for p in pollers]
        stop_pollers, stop_healthz = threading.Event(), threading.Event()
        polling = _threads(poller_loop, [(soak, bases, p, stop_pollers) for p in pollers])
        probes = _threads(healthz_loop, [(soak, b, stop_healthz) for b in bases])
        started = time.monotonic()
        until = started + config.duration
        sending = _threads(sender_loop, [(soak, bases, s, i, codes, engine, until) for i, s in enumerate(senders)])
        for t in sending:
            t.join()
        stop_healthz.set()
        soak.load_seconds = time.monotonic() - started
        drain_until = time.monotonic() + config.drain_timeout
        while time.monotonic() < drain_until:
            with soak.lock:
                done = set(soak.dispatched) <= set(soak.accepts)
            if done:
                break
            time.sleep(0.2)
        soak.drain_seconds = time.monotonic() - started - soak.load_seconds
        stop_pollers.set()
        for t in [*polling, *probes]:
            t.join(config.wait + config.timeout)
        clock = time.monotonic()
        check(soak, url)
        verify_audit(soak, env)
        phase("checks")
    phase("stop")
    check_logs(soak, logs)
    return soak


def check(soak: Soak, url: str) -> None:
    """Compare what the clients saw with what the database holds."""
    from exchange.models import Delivery, Document, RegisterEntry, StatusEvent
    from storage.db import make_engine

    failures = soak.failures
    if soak.errors:
        failures.append(f"{len(soak.errors)} requests failed, first: {soak.errors[:3]}")
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Delivery.id, Delivery.status, Delivery.fetched_at, Delivery.acked_at)).all()
        events = Counter(conn.execute(sa.select(StatusEvent.delivery_id, StatusEvent.status)).all())
        documents = conn.execute(sa.select(sa.func.count()).select_from(Document)).scalar_one()
        entries = conn.execute(sa.select(RegisterEntry.agency_id, RegisterEntry.kind, RegisterEntry.year,
                                         RegisterEntry.number)).all()
    engine.dispose()
    held = {r.id for r in rows}
    if held != set(soak.dispatched):
        failures.append(f"deliveries held {len(held)} ≠ answered to senders {len(soak.dispatched)}")
    if not held:
        failures.append("no delivery was made")
    for name, counter in (("seen", soak.seen), ("downloaded", soak.downloads), ("acked", soak.acks),
                          ("accepted", soak.accepts)):
        wrong = {d: counter[d] for d in held | set(counter) if counter[d] != 1}
        if wrong:
            failures.append(f"{len(wrong)} deliveries not {name} exactly once, e.g. {list(wrong.items())[:5]}")
    unfinished = [(r.id, r.status, r.fetched_at, r.acked_at) for r in rows
                  if r.status != "accepted" or r.fetched_at is None or r.acked_at is None]
    if unfinished:
        failures.append(f"{len(unfinished)} deliveries not fetched, acked and accepted (id, status, fetched_at, "
                        f"acked_at), e.g. {unfinished[:5]}")
    for status in ("delivered", "accepted"):
        wrong_events = [d for d in held if events[(d, status)] != 1]
        if wrong_events:
            failures.append(f"{len(wrong_events)} deliveries without exactly one '{status}' event")
    if documents != soak.uploaded:
        failures.append(f"documents held {documents} ≠ uploads answered {soak.uploaded}")
    books: dict[tuple[int, str, int], list[int]] = defaultdict(list)
    for agency_id, kind, year, number in entries:
        books[(agency_id, kind, year)].append(number)
    for book, numbers in books.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            failures.append(f"register {book} has gaps or repeats: {sorted(numbers)[:20]}…")
    soak.books = dict(Counter(kind for (_, kind, _) in books))
    outgoing = sum(len(n) for (_, kind, _), n in books.items() if kind == "outgoing")
    incoming = sum(len(n) for (_, kind, _), n in books.items() if kind == "incoming")
    if outgoing != len(soak.registered):
        failures.append(f"outgoing numbers {outgoing} ≠ registrations answered {len(soak.registered)}")
    if incoming != sum(soak.accepts.values()):
        failures.append(f"incoming numbers {incoming} ≠ acceptances answered {sum(soak.accepts.values())}")


def check_logs(soak: Soak, logs: list[Path]) -> None:
    """No server answered a 5xx or logged an error or a traceback (read once they stopped);
    but a 503 ``database_unavailable``, which the clients retried and ``Soak.retries`` counts."""
    for log in logs:
        bad = [line for line in log.read_text(errors="replace").splitlines()
               if (any(w in line for w in ("Traceback", " ERROR ", "[ERROR]", "CRITICAL"))
                   or re.search(r"lienthong\.access .* 5\d\d [\d.]+ ms$", line))
               and not re.search(r"ERROR exchange\.http\.errors .*database unavailable|lienthong\.access .* 503 ", line)]
        if bad:
            soak.failures.append(f"{log.name}: {len(bad)} error lines, first: {bad[:3]}")


def verify_audit(soak: Soak, env: dict[str, str]) -> None:
    """``flask --app app audit verify`` on the soak's database, as an operator runs it."""
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run([str(flask), "--app", "app", "audit", "verify"], cwd=ROOT, env=server_env(env),
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        soak.failures.append(f"audit verify exit {done.returncode}: {done.stdout[-500:]} {done.stderr[-500:]}")
    else:
        soak.audit_events = int("".join(c for c in done.stdout.split(":")[-1] if c.isdigit()) or 0)


# --- the report ---------------------------------------------------------------------------

def _ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (statistics.median(values) if q == 50 else cuts[int(q) - 1]) * 1000


def report(soak: Soak) -> list[str]:
    c = soak.config
    lines = [f"soak: 2 × gunicorn -k {WORKER_CLASS} -w {c.workers}, {soak.database}, moto S3 (own process); "
             f"{c.senders} senders ({c.sender_agencies} agencies), {c.pollers} pollers (wait={c.wait}s); "
             f"load {soak.load_seconds:.0f} s + drain {soak.drain_seconds:.1f} s; {os.cpu_count()} CPUs, "
             f"load average {os.getloadavg()[0]:.1f}; "
             + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in soak.phases.items()),
             f"{'endpoint':42} {'count':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"]
    window = soak.load_seconds + soak.drain_seconds
    for key, label in ENDPOINTS.items():
        values = soak.latencies.get(key, [])
        seconds = soak.load_seconds if key in ("upload", "register", "dispatch", "healthz") else window
        lines.append(f"{label:42} {len(values):7d} {len(values) / seconds:8.1f} {_ms(values, 50):8.1f} "
                     f"{_ms(values, 99):8.1f}")
    lines.append(f"{'dispatch answered → item in the inbox':42} {len(soak.seen_after):7d} {'':8} "
                 f"{_ms(soak.seen_after, 50):8.1f} {_ms(soak.seen_after, 99):8.1f}")
    lines.append(f"checks: {len(soak.dispatched)} deliveries of {soak.uploaded} documents each seen, downloaded, "
                 f"acked and accepted once; registers gapless ({soak.books.get('outgoing', 0)} outgoing, "
                 f"{soak.books.get('incoming', 0)} incoming books); audit chain intact ({soak.audit_events} events); "
                 f"{len(soak.errors)} failed requests; tried again: {dict(soak.retries) or 'none'}"
                 if not soak.failures else
                 "CHECKS FAILED:\n  " + "\n  ".join(soak.failures))
    base = _ms(soak.latencies.get("healthz", []), 50)
    ratios = ", ".join(f"{k} {_ms(soak.latencies.get(k, []), 50) / base:.1f}×"
                       for k in ("upload", "register", "dispatch", "download", "ack", "accept"))
    health_rate = len(soak.latencies.get("healthz", [])) / soak.load_seconds
    lines.append(f"ratio p50 / healthz p50 ({base:.1f} ms), same run: {ratios}; deliveries/s "
                 f"{len(soak.dispatched) / soak.load_seconds:.1f} vs healthz {health_rate:.0f} req/s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = SoakConfig()
    parser.add_argument("--duration", type=float, default=defaults.duration)
    parser.add_argument("--senders", type=int, default=defaults.senders)
    parser.add_argument("--sender-agencies", type=int, default=defaults.sender_agencies)
    parser.add_argument("--pollers", type=int, default=defaults.pollers)
    parser.add_argument("--wait", type=int, default=defaults.wait)
    parser.add_argument("--recipients", type=int, default=defaults.recipients)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--database-url", default=os.environ.get("LIENTHONG_TEST_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()
    config = SoakConfig(duration=args.duration, senders=args.senders, sender_agencies=args.sender_agencies,
                        pollers=args.pollers, wait=args.wait, recipients=args.recipients,
                        workers=args.workers)
    sys.path.insert(0, str(ROOT / "bench"))
    import tempfile

    from dispatch import database  # a private PostgreSQL schema, dropped afterwards (or a SQLite file)

    from storage.migrations import upgrade

    # --database-url '': a temporary SQLite file (the embedded default), for comparison
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, database(args.database_url or None) as url:
        upgrade(url)
        soak = run_soak(config, url, Path(tmp))
    print("\n".join(report(soak)))
    if soak.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
