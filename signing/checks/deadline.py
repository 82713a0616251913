"""Run a function in a worker thread with a deadline, so that no file can hang a request.

Python cannot kill a thread; on timeout we raise `VerificationTimeout` inside the worker
(`PyThreadState_SetAsyncExc`), which stops it at its next bytecode. Code blocked inside C
(pdfium) stops when it returns; the caller does not wait for that.
"""
from __future__ import annotations

import ctypes
import threading
from typing import Callable, TypeVar

T = TypeVar("T")


class VerificationTimeout(Exception):
    """The validation of one file used up its time budget."""


def run_with_deadline(fn: Callable[[], T], timeout_s: float) -> T:
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="lienthong-verify", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        _interrupt(worker)
        worker.join(0.5)
        raise VerificationTimeout(f"validation exceeded {timeout_s:.1f} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def _interrupt(thread: threading.Thread) -> None:
    if thread.ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(VerificationTimeout))
