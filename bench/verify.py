"""Verification speed: our verify() (with all hardening) beside plain pyHanko validation.

    .venv/bin/python bench/verify.py          # BENCH_N=40 documents per case

Documents: 3-page PDFs signed at PAdES B-LT by the test PKI of tests/verify_fixtures.py
(signature + RFC 3161 timestamp + DSS revision), and the same with a second B-LT signature
(person + seal: the first signature sees form filling, which triggers the rendered-page
comparison). Both sides validate offline from the file's own DSS with a new
ValidationContext per document, in this one process and thread:

- plain: `PdfFileReader` → `DocumentSecurityStore.read_dss(...).as_validation_context(...)`
  → `validate_pdf_signature` for each signature (pyHanko's diff analysis included);
- ours: `signing.verify.verify(...)`: the same plus the worker thread with a deadline, the
  byte-range, incremental-saving and hidden-signature checks, the page rendering where
  needed, and the report.

The two sides alternate document by document. Prints median wall and CPU ms per document
and documents per CPU-second; the last line is the ratio
ours / plain for single-signature B-LT documents (target ≤ 1.5, and ≥ 20 documents/s).
"""
from __future__ import annotations

import io
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_N", "40"))


def plain(data: bytes, root) -> bool:  # type: ignore[no-untyped-def]
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "hard-fail"})
    ok = True
    for sig in reader.embedded_regular_signatures:
        ok = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc).bottom_line and ok
    return ok


def ours(data: bytes, root) -> bool:  # type: ignore[no-untyped-def]
    from signing.verify import verify

    return verify(data, trust_roots=[root]).indication == "PASSED"


class Isolated:
    """``signing.isolation.IsolatedVerifier`` (what the service runs): CPU is this process's
    plus its worker's, read with psutil."""

    def __init__(self) -> None:
        from signing.isolation import IsolatedVerifier

        self.verifier = IsolatedVerifier(workers=1)
        self.verifier.warm_up()

    def worker_cpu(self) -> float:
        import psutil

        total = 0.0
        for pid in self.verifier.worker_pids():
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        return total

    def __call__(self, data: bytes, root) -> bool:  # type: ignore[no-untyped-def]
        return self.verifier.verify(data, trust_roots=[root]).indication == "PASSED"


def timed_isolated(iso: Isolated, docs: list[bytes], root) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    for d in docs[:2]:
        assert iso(d, root), "the isolated verifier did not accept an honest document"
    walls, cpus = [], []
    for d in docs:
        t, c, w = time.perf_counter(), time.process_time(), iso.worker_cpu()
        iso(d, root)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - c + iso.worker_cpu() - w) * 1000)
    return statistics.median(walls), statistics.median(cpus), 1000 / statistics.mean(cpus)


def timed(docs: list[bytes], root) -> dict[str, tuple[float, float, float]]:  # type: ignore[no-untyped-def]
    """Per side: (median wall ms, median CPU ms of the whole process, documents per CPU-second).

    The two sides alternate document by document (and which goes first), so that a change
    in the machine's load hits both alike.
    """
    for fn in (plain, ours):
        for d in docs[:2]:
            assert fn(d, root), f"{fn.__name__} did not accept an honest document"
    walls: dict[str, list[float]] = {"plain": [], "ours": []}
    cpus: dict[str, list[float]] = {"plain": [], "ours": []}
    for i, d in enumerate(docs * 2):
        for fn in ((plain, ours) if i % 2 == 0 else (ours, plain)):
            t, c = time.perf_counter(), time.process_time()
            fn(d, root)
            walls[fn.__name__].append((time.perf_counter() - t) * 1000)
            cpus[fn.__name__].append((time.process_time() - c) * 1000)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]), 1000 / statistics.mean(cpus[name]))
            for name in walls}


def main() -> None:
    logging.disable(logging.WARNING)
    from tests import verify_fixtures as fx

    pki = fx.pki()
    pages = [f"Trang {i}: Quyet dinh so 123/QD-UBND ve viec cap kinh phi." for i in range(1, 4)]
    print(f"signing {N} + {N} documents ...", flush=True)
    single = [fx.sign(fx.make_pdf(pages + [f"so {i}"]), level="B-LT", box=(350, 100, 550, 160)) for i in range(N)]
    double = [fx.sign(d, level="B-LT", field="Seal", who="second", box=(300, 90, 420, 170)) for d in single]

    rows = []
    print(f"load average before: {os.getloadavg()[0]:.1f}  (CPU time is steadier than wall time on a shared machine)")
    for label, docs in (("B-LT, 1 signature", single), ("B-LT, person + seal", double)):
        res = timed(docs, pki.root)
        (p_wall, p_cpu, p_rate), (o_wall, o_cpu, o_rate) = res["plain"], res["ours"]
        rows.append((p_wall, p_cpu, o_wall, o_cpu, o_rate))
        print(f"{label:20s} plain {p_wall:6.1f} ms wall {p_cpu:6.1f} ms CPU ({p_rate:5.1f}/CPU-s)   "
              f"ours {o_wall:6.1f} ms wall {o_cpu:6.1f} ms CPU ({o_rate:5.1f}/CPU-s)   ratio(CPU) {o_cpu / p_cpu:.2f}")
    p_wall, p_cpu, o_wall, o_cpu, o_rate = rows[0]
    print(f"ratio ours/plain (B-LT, 1 signature, median CPU ms): {o_cpu / p_cpu:.2f}  "
          f"(wall {o_wall / p_wall:.2f}; ours {o_rate:.1f} documents per CPU-second)")

    iso = Isolated()
    i_wall, i_cpu, i_rate = timed_isolated(iso, single, pki.root)
    print(f"isolated (worker process, as the service runs it), B-LT 1 signature: {i_wall:6.1f} ms wall "
          f"{i_cpu:6.1f} ms CPU ({i_rate:5.1f}/CPU-s); ratio(CPU) to plain {i_cpu / p_cpu:.2f}")

    long_pages = [f"Trang {i}: Quyet dinh so 123/QD-UBND ve viec cap kinh phi." for i in range(1, 61)]
    person = fx.sign(fx.make_pdf(long_pages), level="B-LT", box=(350, 100, 550, 160))
    sixty = fx.sign(person, level="B-LT", field="Seal", who="second", box=(300, 90, 420, 170))
    walls = []
    for _ in range(3):
        t = time.perf_counter()
        assert ours(sixty, pki.root)
        walls.append(time.perf_counter() - t)
    iso_walls = []
    for _ in range(3):
        t = time.perf_counter()
        assert iso(sixty, pki.root)
        iso_walls.append(time.perf_counter() - t)
    print(f"60 pages, person + seal (B-LT): verify() {statistics.median(walls):.2f} s, "
          f"isolated {statistics.median(iso_walls):.2f} s (median of 3; target < 3 s)")
    iso.verifier.close()


if __name__ == "__main__":
    main()
