"""Bounded time: no file may hang a request.

Validation runs in a fresh worker thread; the caller waits at most the time budget. Python
cannot kill a thread, but it can raise an exception in one at its next bytecode
(`PyThreadState_SetAsyncExc`): on timeout the worker gets `VerificationTimeout` and stops.
A worker thread also keeps pyHanko's `asyncio.run` away from a caller that runs an event
loop. (Measured alternative: running in the caller's thread under a watchdog thread cost
more CPU per document than this hand-off, see bench/verify.py.)

Under gevent (gunicorn -k gevent, docs/deployment.md) a `threading.Thread` is a greenlet,
so the work goes to gevent's pool of real OS threads instead and the request's greenlet
waits cooperatively: the deadline holds and the worker's other requests keep running.

`VerificationTimeout` derives from BaseException so that no `except Exception` on the way
(ours or a library's) can swallow it. Code blocked inside C (PDFium) stops when it returns.
"""
from __future__ import annotations

import ctypes
import threading
from typing import Callable, TypeVar

import gevent
from gevent import monkey
from gevent.threadpool import ThreadPool

T = TypeVar("T")


class VerificationTimeout(BaseException):
    """The validation of one file used up its time budget."""


def call_with_deadline(fn: Callable[[], T], timeout_s: float) -> T:
    """``fn()`` in a fresh worker thread; the caller waits at most ``timeout_s`` seconds."""
    pool = _gevent_threadpool()
    if pool is not None:
        return _in_gevent_threadpool(pool, fn, timeout_s)
    results: list[T] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=work, name="lienthong-verify", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        _raise_in(worker.ident, VerificationTimeout)
        worker.join(0.5)
        raise VerificationTimeout(f"validation exceeded {timeout_s:.1f} s")
    if errors:
        raise errors[0]
    return results[0]


def _gevent_threadpool() -> ThreadPool | None:
    """gevent's pool of real OS threads when gevent has patched `threading` (gunicorn -k gevent).

    There a `threading.Thread` is a greenlet: CPU-bound validation would never yield, so no
    deadline could fire and every other request of the worker would wait. In the hub's
    thread pool the work runs on an OS thread and the request's greenlet waits cooperatively.
    """
    if not monkey.is_module_patched("threading"):
        return None
    return gevent.get_hub().threadpool


def _in_gevent_threadpool(pool: ThreadPool, fn: Callable[[], T], timeout_s: float) -> T:
    real_ident = monkey.get_original("_thread", "get_ident")
    idents: list[int] = []

    def work() -> T | None:
        idents.append(real_ident())
        try:
            return fn()
        except VerificationTimeout:
            return None  # the caller has already given up; keep gevent from logging it

    job = pool.spawn(work)
    try:
        return job.get(timeout=timeout_s)
    except gevent.Timeout:
        if idents:
            _raise_in(idents[0], VerificationTimeout)
        raise VerificationTimeout(f"validation exceeded {timeout_s:.1f} s") from None


def _raise_in(ident: int | None, exc: type[BaseException]) -> None:
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc))
