"""Verification in worker processes that can be killed: a hard time and memory budget.

``signing.checks.deadline`` stops Python code at its deadline, but a thread stuck in C
(PDFium rendering, zlib inflating a bomb) keeps its CPU and memory after the caller gave
up. Here each verification runs in a process of a small pool (pebble's ``ProcessPool``,
which kills the worker of a task past its timeout and starts a fresh one), so that:

- at ``time_budget_s`` the in-worker deadline ends the work and the report says TIMEOUT;
- at ``time_budget_s + KILL_GRACE_S`` whatever still runs is killed with its process (its
  memory goes back to the system), the caller gets the same TIMEOUT report;
- each worker lives under ``RLIMIT_AS`` (``memory_mb``): an allocation past it raises
  MemoryError there, and a worker that dies (killed by the kernel, a crash in C) gives a
  FAILED report with ``RESOURCE_LIMIT`` instead of taking the web worker with it.

Workers start from a ``forkserver`` (a clean interpreter with pyHanko preloaded): never a
fork of a gevent-patched, threaded web worker. The pool is made on first use in each
process (so a gunicorn worker gets its own after the fork) and stopped at exit.
Trust anchors travel as DER (asn1crypto objects do not all survive pickling) and are
parsed once per worker.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import IO, Any, Callable, Iterable, Iterator, TypeVar

from asn1crypto import x509

from signing import prescan
from signing.report import FAILED, Finding, Report, build_report

log = logging.getLogger(__name__)

T = TypeVar("T")

KILL_GRACE_S = 0.5
_PRELOAD = ["signing.verify", "signing.isolation"]


class IsolatedVerifier:
    """``verify()`` in a pool of killable worker processes; thread- and greenlet-safe."""

    def __init__(self, *, workers: int = 2, memory_mb: int = 2048) -> None:
        self.workers = max(1, workers)
        self.memory_mb = memory_mb
        self._pool: Any = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        # At most one task in flight per worker. pebble hands a task to its workers over a pipe
        # with a plain os.write, which gevent does not make cooperative: with more tasks than
        # idle workers, that write filled the pipe and stopped the whole gunicorn worker, its
        # result reader included, until gunicorn killed it (issue 13, item 5; the file itself
        # travels beside the pipe, see handed_over). Patched by gevent, this is a greenlet
        # semaphore: the other requests go on while one waits.
        self._slots = threading.BoundedSemaphore(self.workers)

    def verify(self, data: bytes, *, trust_roots: Iterable[x509.Certificate],
               other_certs: Iterable[x509.Certificate] = (), time_budget_s: float = 10.0,
               max_rendered_pages: int | None = None) -> Report:
        """Like ``signing.verify.verify``: never raises for a bad file, whatever it does to its worker."""
        from pebble import ProcessExpired

        try:
            prescan.check(data)
        except prescan.StructureRefused as exc:
            # refused here, without a worker: no queueing behind other files, no pickling
            finding = Finding("STRUCTURE_REFUSED", FAILED, detail=exc.detail)
            return build_report([], [finding], sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                                validated_at=_now())
        roots = tuple(c.dump() for c in trust_roots)
        others = tuple(c.dump() for c in other_certs)
        timed_out = Finding("TIMEOUT", FAILED, detail=f"validation exceeded {time_budget_s:.1f} s; "
                                                      "its worker process was stopped")
        started = time.monotonic()
        try:
            with handed_over(data) as path:
                result: Report = self.run(_verify_in_worker, (path, roots, others, time_budget_s, max_rendered_pages),
                                          timeout_s=time_budget_s + KILL_GRACE_S)
            return result
        except FutureTimeout:
            finding = timed_out
        except ProcessExpired as exc:
            # past its budget, a worker found gone is the one the pool stopped for its deadline
            # (on a loaded machine pebble may see the death before it records the timeout)
            finding = timed_out if time.monotonic() - started >= time_budget_s else Finding(
                "RESOURCE_LIMIT", FAILED, detail=f"the validating process ended abnormally (exit code {exc.exitcode})")
        except MemoryError:
            finding = Finding("RESOURCE_LIMIT", FAILED, detail=f"validation needed more than {self.memory_mb} MB")
        except Exception as exc:  # noqa: BLE001 - a hostile file must never become a 500
            log.warning("isolated verification failed", exc_info=exc)
            finding = Finding("VALIDATION_ERROR", FAILED, detail=f"{type(exc).__name__}: {str(exc)[:300]}")
        return build_report([], [finding], sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                            validated_at=_now())

    def probe_parse(self, stream: IO[bytes], *, time_budget_s: float) -> None:
        """Before signing in this process: parse what signing will read (cross-references,
        catalog, pages, form fields, signatures) in a worker under the budget. Raises
        ``StructureRefused`` (kind ``parse_budget``) when that takes longer than the budget,
        more memory than the worker may use, or kills the worker; leaves ``stream`` at its start.
        Signing keeps its keys (PKCS#11 sessions, loaded PKCS#12 keys) in the serving process,
        so the check runs ahead of it rather than the signing itself moving."""
        from pebble import ProcessExpired

        stream.seek(0)
        data = stream.read()
        stream.seek(0)
        prescan.check(data)
        try:
            with handed_over(data) as path:
                self.run(_probe_in_worker, (path,), timeout_s=time_budget_s)
        except FutureTimeout:
            raise prescan.StructureRefused("parse_budget",
                                           f"reading the PDF took longer than {time_budget_s:.1f} s") from None
        except (ProcessExpired, MemoryError):
            raise prescan.StructureRefused("parse_budget",
                                           f"reading the PDF needed more than {self.memory_mb} MB") from None
        except Exception:  # noqa: BLE001 - pyHanko's own refusal of a broken file: signing says it clearly
            return

    def run(self, fn: Callable[..., T], args: tuple[Any, ...], *, timeout_s: float) -> T:
        """``fn(*args)`` in a worker; past ``timeout_s`` the worker is killed and
        ``concurrent.futures.TimeoutError`` raised (``pebble.ProcessExpired`` if it died)."""
        from concurrent.futures.process import BrokenProcessPool

        pool = self._ensure_pool()
        try:
            with self._slots:
                result: T = pool.schedule(fn, args=args, timeout=timeout_s).result()
        except (BrokenProcessPool, RuntimeError):
            # the pool itself is gone (its forkserver killed, workers failing to start):
            # the next call builds a new one rather than failing for ever
            self._discard(pool)
            raise
        return result

    def _discard(self, pool: Any) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        try:
            pool.stop()
        except Exception:  # noqa: BLE001 - already broken
            pass

    def warm_up(self) -> None:
        """Start the workers now (their first start imports pyHanko: about a second)."""
        pool = self._ensure_pool()
        for future in [pool.schedule(os.getpid) for _ in range(self.workers)]:
            future.result()

    def warm_up_in_background(self) -> None:
        """Start the workers without holding up start-up (a greenlet under gevent)."""
        def warm() -> None:
            try:
                self.warm_up()
            except Exception as exc:  # noqa: BLE001 - the first verification starts them instead
                log.warning("verification workers did not start ahead: %s", exc)

        threading.Thread(target=warm, name="lienthong-verify-warm-up", daemon=True).start()

    def worker_pids(self) -> list[int]:
        """The live worker processes (for tests and metrics)."""
        pool = self._pool
        if pool is None or self._pid != os.getpid():
            return []
        return [w.pid for w in list(pool._pool_manager.worker_manager.workers.values()) if w.is_alive()]

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            mine = self._pid == os.getpid()
        if pool is not None and mine:
            pool.stop()
            pool.join(timeout=5)

    def _ensure_pool(self) -> Any:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # a fork (gunicorn's workers) inherits the object but not the pool's threads
                from pebble import ProcessPool

                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_PRELOAD)
                _off_the_event_loop(_start_forkserver, context)
                self._pool = ProcessPool(max_workers=self.workers, context=context,
                                         initializer=_limit_memory, initargs=(self.memory_mb,))
                self._pid = os.getpid()
                atexit.register(self.close)
            return self._pool


def _start_forkserver(context: Any) -> None:
    """Start the forkserver and wait until its preload is done (a second or more: pyHanko,
    PDFium). Until then every process start blocks in ``os.read``, which gevent does not
    make cooperative: done here once, later worker starts are plain forks (milliseconds)."""
    probe = context.Process(target=os.getpid, name="lienthong-forkserver-probe")
    probe.start()
    probe.join()


def _off_the_event_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a real OS thread when gevent has patched ``threading`` (gunicorn -k
    gevent), so that its blocking reads do not stop every other request of the worker."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        result: T = gevent.get_hub().threadpool.apply(fn, args)
        return result
    return fn(*args)


@contextlib.contextmanager
def handed_over(data: bytes) -> Iterator[str]:
    """The file goes to the worker as a temporary file (mode 0600, removed after), not
    through pebble's task pipe: a task larger than the pipe's buffer made the writing
    ``os.write`` wait for a worker to read, and under gevent that write stops every other
    request of the web worker, the pool's result reader included (issue 13, item 5)."""
    fd, path = tempfile.mkstemp(prefix="lienthong-verify-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield path
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


# -- in the worker process ----------------------------------------------------------------------

_roots_cache: dict[tuple[bytes, ...], list[x509.Certificate]] = {}


def _limit_memory(memory_mb: int) -> None:
    if memory_mb > 0:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _certificates(ders: tuple[bytes, ...]) -> list[x509.Certificate]:
    certs = _roots_cache.get(ders)
    if certs is None:
        certs = _roots_cache[ders] = [x509.Certificate.load(d) for d in ders]
    return certs


def _verify_in_worker(path: str, roots: tuple[bytes, ...], others: tuple[bytes, ...],
                      time_budget_s: float, max_rendered_pages: int | None) -> Report:
    from signing.checks.visual import DEFAULT_MAX_PAGES
    from signing.verify import verify

    with open(path, "rb") as f:
        data = f.read()

    return verify(data, trust_roots=_certificates(roots), other_certs=_certificates(others),
                  time_budget_s=time_budget_s, structure_checked=True,
                  max_rendered_pages=DEFAULT_MAX_PAGES if max_rendered_pages is None else max_rendered_pages)


def _probe_in_worker(path: str) -> int:
    """Read what signing reads; the answer is only that it finished (in time, in memory)."""
    import io

    with open(path, "rb") as f:
        data = f.read()

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    pages = reader.root["/Pages"]
    count = int(pages.get("/Count", 0))
    for _ in enumerate_sig_fields(reader, filled_status=True):
        count += 1
    for sig in reader.embedded_signatures:
        sig.compute_digest()  # the byte ranges signing compares with
    return count


def _now() -> datetime:
    return datetime.now(timezone.utc)
