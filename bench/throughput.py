"""Signing and verification throughput under gunicorn (2 gevent workers) beside plain
pyHanko in 2 processes, on the same files, keys, TSA and OCSP, in one run (issue 13, item 5).

- *ours, signatures*: ``POST /api/v1/documents/{id}/signatures`` ``{"profile": "person",
  "level": "B-LT"}`` (the visible person stamp: signature image, name, time in the Vietnamese
  font), ``--clients`` requests at a time over HTTP to the app under ``gunicorn -k gevent -w 2``,
  each on a document uploaded beforehand (not timed): auth, blob read, sign, blob write,
  revision + audit;
- *plain, signatures*: ``PdfSigner.sign_pdf`` of the same 2-page PDF with the same credential
  (the PKCS#12 key the service issued, loaded once per process), the same stamp style and the
  same validation services — the dev PKI's TSA and OCSP/CRL answered in-process
  (``certs.fetchers``), as the service signs — in a pool of 2 processes;
- *ours, verifications*: ``GET /api/v1/documents/{id}/verification`` of a document signed by
  the person, numbered, then sealed (both B-LT) through the API: the service's isolated
  verifier with its structure checks and the rendered-page comparison the seal's form filling
  calls for, the report;
- *plain, verifications*: ``validate_pdf_signature`` of both signatures of the same file, offline
  from its DSS, trusting the dev PKI's root, in a pool of 2 processes.

The timed requests go over one raw ``http.client`` keep-alive connection per client thread
(no ``requests`` session: the clients share the server's 2 cores, so the lighter they are the
less they take from it); each round also prints the CPU each side used per request, read with
psutil: the bench process (the clients), the gunicorn workers, the verification processes,
the plain pool's processes. Rounds alternate ours and plain; the median rate of the rounds
counts. Last line: the ratios ours/plain (target ≥ 0.8 for both).

    .venv/bin/python bench/throughput.py [--n 16] [--rounds 3] [--clients 4] [--database-url URL]
                                         [--verify-workers N] [--plain-fast-hex]
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_plain: dict[str, Any] = {}  # per pool process: settings, credential, trust roots


def _init_plain(data_dir: str, database_url: str, credential_id: int, same_hex_reader: bool = False) -> None:
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.WARNING)
    if same_hex_reader:  # --plain-fast-hex: plain pyHanko with our one-pass hex string reader
        from signing import fast_hex

        fast_hex.install()
    from certs.issuance import load_signing_credential
    from certs.trust import load_trust_store
    from settings import Settings
    from storage.db import make_engine
    from tests.db import session_scope

    settings = Settings(data_dir=Path(data_dir), database_url=database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        _plain["credential"] = load_signing_credential(session, settings, credential_id)
    engine.dispose()
    _plain["settings"] = settings
    _plain["roots"] = load_trust_store(settings).roots()


class _SamePKI:
    """What ``bench.sign.plain_pyhanko`` asks of a PKI: the service's own TSA and validation context."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def validation_context(self) -> Any:
        from certs.fetchers import validation_context

        return validation_context(self.settings, for_signing=True)

    def timestamper(self) -> Any:
        from certs.fetchers import local_timestamper

        return local_timestamper(self.settings)


def plain_sign(pdf: bytes) -> int:
    from bench.sign import plain_pyhanko

    return len(plain_pyhanko(pdf, _plain["credential"], _SamePKI(_plain["settings"])))


def plain_verify(data: bytes) -> bool:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": _plain["roots"], "allow_fetching": False, "revocation_mode": "hard-fail"})
    ok = True
    for sig in reader.embedded_regular_signatures:
        ok = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc).bottom_line and ok
    return ok


class Client:
    """One keep-alive HTTP/1.1 connection per thread, as light as a client can be."""

    def __init__(self, base: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, bytes]:
        import http.client

        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()


class CpuMeter:
    """CPU seconds (user + system) used by each kind of process since ``start()``: this bench
    process (the HTTP clients), the gunicorn workers, the verification processes they started
    (forkserver and pebble workers), and the plain pool's processes."""

    KINDS = ("clients", "web workers", "verifier processes", "plain pool")

    def __init__(self, plain_pids: list[int]) -> None:
        self.plain_pids = set(plain_pids)
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        import psutil

        me = psutil.Process()
        totals = dict.fromkeys(self.KINDS, 0.0)
        times = me.cpu_times()
        totals["clients"] = times.user + times.system
        for proc in me.children(recursive=True):
            try:
                times = proc.cpu_times()
                if proc.pid in self.plain_pids:
                    kind = "plain pool"
                elif "gunicorn" in " ".join(proc.cmdline()):
                    kind = "web workers"
                else:
                    kind = "verifier processes"
                totals[kind] += times.user + times.system
            except psutil.Error:  # ended meanwhile (a verification worker replaced)
                continue
        return totals

    def start(self) -> None:
        self._start = self._now()

    def per_request(self, n: int) -> dict[str, float]:
        now = self._now()
        return {k: max(0.0, now[k] - self._start[k]) * 1000 / n for k in self.KINDS}


def cpu_line(label: str, cpu: dict[str, float]) -> str:
    shown = "  ".join(f"{k} {v:.1f}" for k, v in cpu.items() if v >= 0.05)
    return f"    CPU ms per request, {label}: {shown}  (total {sum(cpu.values()):.1f})"


def concurrently(jobs: list[Callable[[], None]], clients: int) -> float:
    """Run ``jobs`` on ``clients`` threads; the wall time in seconds."""
    todo, lock, errors = list(jobs), threading.Lock(), []

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                job = todo.pop()
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
                return

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16, help="signatures and verifications per round and side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="requests in flight against the server")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--plain-fast-hex", action="store_true",
                        help="give plain pyHanko our one-pass hex string reader too (signing.fast_hex): "
                             "the cost of our checks and service alone")
    parser.add_argument("--verify-workers", type=int, default=0,
                        help="LIENTHONG_VERIFY_WORKERS of each gunicorn worker (default: the setting's default)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    import requests
    from importlib.metadata import version

    from settings import Settings
    from storage.db import make_engine
    from storage.schema import import_all_models
    from tests.e2e.gunicorn_support import gunicorn
    from tests.exchange_fixtures import DOCUMENT_METADATA, make_pdf
    from tests.signing_world import build_signing_world

    folder = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    import_all_models().create_all(engine)
    settings = Settings(data_dir=folder / "var", database_url=url)
    sw = build_signing_world(engine, settings)
    engine.dispose()
    pdf = make_pdf("Bench thông lượng ký số", pages=2)
    env = {"LIENTHONG_DATA_DIR": str(settings.data_dir), "LIENTHONG_DATABASE_URL": url,
           "LIENTHONG_LOG_LEVEL": "WARNING",
           **({"LIENTHONG_VERIFY_WORKERS": str(args.verify_workers)} if args.verify_workers else {})}
    http = threading.local()

    def session() -> requests.Session:
        if not hasattr(http, "s"):
            http.s = requests.Session()
        return http.s  # type: ignore[no-any-return]

    def upload(base: str) -> int:
        r = session().post(f"{base}/api/v1/documents", headers=sw.headers("clerk"), timeout=60,
                           files={"file": ("bench.pdf", pdf, "application/pdf")},
                           data={"metadata": json.dumps(DOCUMENT_METADATA)})
        assert r.status_code == 201, r.text
        return r.json()["id"]  # type: ignore[no-any-return]

    client: Client | None = None
    sign_body = json.dumps({"profile": "person", "level": "B-LT"}).encode()

    def sign(base: str, document_id: int, who: str = "signer", profile: str = "person") -> None:
        if profile != "person" or client is None:  # the set-up's requests (not timed)
            r = session().post(f"{base}/api/v1/documents/{document_id}/signatures", headers=sw.headers(who),
                               json={"profile": profile, "level": "B-LT"}, timeout=120)
            assert r.status_code == 201, r.text
            return
        status, body = client.request("POST", f"/api/v1/documents/{document_id}/signatures",
                                      {**sw.headers(who), "Content-Type": "application/json"}, sign_body)
        assert status == 201, body

    def verify(base: str, document_id: int) -> None:
        assert client is not None
        status, body = client.request("GET", f"/api/v1/documents/{document_id}/verification", sw.headers("clerk"))
        assert status == 200 and b'"indication":"PASSED"' in body, body

    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(2, initializer=_init_plain, initargs=(str(settings.data_dir), url, sw.credentials["signer"],
                                                                   args.plain_fast_hex))
    rates: dict[str, list[float]] = {"ours_sign": [], "plain_sign": [], "ours_verify": [], "plain_verify": []}
    server_log = (folder / "gunicorn.log").open("wb")  # its access lines, away from the figures
    with gunicorn("app:create_app()", env, workers=2, output=server_log) as base:
        # the person + seal document, through the API: sign, number (Decree 30), seal
        sealed_id = upload(base)
        sign(base, sealed_id)
        registered = session().post(f"{base}/api/v1/documents/{sealed_id}/register", headers=sw.headers("clerk"),
                                    json={}, timeout=60)
        assert registered.status_code == 200, registered.text
        sign(base, sealed_id, "clerk", "seal")
        sealed = session().get(f"{base}/api/v1/documents/{sealed_id}/content", headers=sw.headers("clerk"),
                               timeout=60).content
        client = Client(base)
        meter = CpuMeter([p.pid for p in pool._pool])  # type: ignore[attr-defined]  # the pool's processes
        # warm-up, both sides: imports, keys, font subsets, verifier workers, on every process
        warm = [upload(base) for _ in range(4)]
        concurrently([lambda d=d: sign(base, d) for d in warm], args.clients)
        concurrently([lambda: verify(base, sealed_id) for _ in range(4)], args.clients)
        assert all(pool.map(plain_sign, [pdf] * 4)) and all(pool.map(plain_verify, [sealed] * 4))

        print(f"pyHanko {version('pyHanko')}, {os.cpu_count()} CPUs, gunicorn -k gevent -w 2, "
              f"{args.clients} clients, {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}, "
              f"verification processes per worker: {args.verify_workers or 'default'}, "
              f"plain's hex reader: {'ours (--plain-fast-hex)' if args.plain_fast_hex else 'pyHanko'}; "
              f"{args.n} per round and side, {args.rounds} rounds; load average {os.getloadavg()[0]:.1f}")
        cpu: dict[str, dict[str, float]] = {}
        cpu_totals: dict[str, list[float]] = {k: [] for k in rates}
        for round_no in range(args.rounds):
            docs = [upload(base) for _ in range(args.n)]  # not timed
            meter.start()
            rates["ours_sign"].append(args.n / concurrently([lambda d=d: sign(base, d) for d in docs], args.clients))
            cpu["ours_sign"] = meter.per_request(args.n)
            meter.start()
            started = time.perf_counter()
            sizes = pool.map(plain_sign, [pdf] * args.n, chunksize=1)
            rates["plain_sign"].append(args.n / (time.perf_counter() - started))
            cpu["plain_sign"] = meter.per_request(args.n)
            assert all(sizes)
            meter.start()
            started = time.perf_counter()
            assert all(pool.map(plain_verify, [sealed] * args.n, chunksize=1))
            rates["plain_verify"].append(args.n / (time.perf_counter() - started))
            cpu["plain_verify"] = meter.per_request(args.n)
            meter.start()
            rates["ours_verify"].append(args.n / concurrently([lambda: verify(base, sealed_id)] * args.n,
                                                              args.clients))
            cpu["ours_verify"] = meter.per_request(args.n)
            print(f"round {round_no + 1}: " + "  ".join(f"{k} {v[-1]:.2f}/s" for k, v in rates.items())
                  + f"  (load {os.getloadavg()[0]:.1f})", flush=True)
            for key in ("ours_sign", "plain_sign", "ours_verify", "plain_verify"):
                print(cpu_line(key, cpu[key]), flush=True)
                cpu_totals[key].append(sum(cpu[key].values()))
    pool.close()
    pool.join()
    server_log.close()

    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"person B-LT signatures with stamp: ours {med['ours_sign']:.2f}/s   plain pyHanko x2 "
          f"{med['plain_sign']:.2f}/s   ratio {med['ours_sign'] / med['plain_sign']:.2f}")
    print(f"verifications, person + seal:      ours {med['ours_verify']:.2f}/s   plain pyHanko x2 "
          f"{med['plain_verify']:.2f}/s   ratio {med['ours_verify'] / med['plain_verify']:.2f}")
    # On a machine others load too, the rates also measure how much of the cores each side
    # won (ours runs 2 + 4 processes, plain 2); CPU per request does not depend on that.
    cpu_med = {k: statistics.median(v) for k, v in cpu_totals.items()}
    print(f"CPU ms per request (median of the rounds, all processes): signatures ours {cpu_med['ours_sign']:.1f} "
          f"plain {cpu_med['plain_sign']:.1f}, verifications ours {cpu_med['ours_verify']:.1f} "
          f"plain {cpu_med['plain_verify']:.1f}; plain/ours: signatures "
          f"{cpu_med['plain_sign'] / cpu_med['ours_sign']:.2f}, verifications "
          f"{cpu_med['plain_verify'] / cpu_med['ours_verify']:.2f}")
    print(f"ratio ours/plain (median rate): signatures {med['ours_sign'] / med['plain_sign']:.2f}, "
          f"verifications {med['ours_verify'] / med['plain_verify']:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
