"""Stopping on SIGTERM without cutting anyone off, parked long-polls included.

A poll parked with ``wait=60`` would otherwise hold a stopping server for a minute, or be
cut by the server's graceful timeout (a reset connection for the agency's system). On
SIGTERM the notifier answers every parked poll at once with an empty page and its cursor
unchanged (``Notifier.close_waiters``), the client polls again, reaching another worker or the
restarted one, and nothing is lost: a page that was empty is empty.

- ``python app.py``: ``serve_until_terminated`` runs werkzeug's threaded server; SIGTERM wakes
  the waiters, stops accepting, waits for the requests in flight, and returns.
- gunicorn: its workers stop on SIGTERM by finishing the open requests within
  ``--graceful-timeout``; ``wake_polls_on_sigterm`` (called by gunicorn.conf.py for each worker)
  adds the wake-up to gunicorn's own SIGTERM handler.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any, Callable, Iterable

from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wsgi import ClosingIterator

log = logging.getLogger(__name__)

# ``python app.py`` waits this long for the requests in flight once polls are woken: an upload
# or a verification may still be running (WAIT_MAX does not bound those)
DRAIN_TIMEOUT_S = 30.0
_DRAIN_POLL_S = 0.05

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def stop_long_polls(app: Flask) -> None:
    """Both long-polled feeds: the inbox and the events."""
    services = app.extensions["lienthong.services"]
    for notifier in (services.notifier, services.event_notifier):
        notifier.close_waiters()


class InFlight:
    """Counts the requests in flight, from the call until the response's body is closed
    (werkzeug's threaded server runs them in daemon threads it does not wait for)."""

    def __init__(self, wsgi_app: WSGIApp) -> None:
        self.wsgi_app = wsgi_app
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.count += 1
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterator(body, [self._done])

    def _done(self) -> None:
        with self._lock:
            self.count -= 1

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(_DRAIN_POLL_S)
        return True


def serve_until_terminated(app: Flask, host: str, port: int) -> None:
    """Serve ``app`` (threaded) until SIGTERM or SIGINT, then stop as the module says."""
    in_flight = InFlight(app.wsgi_app)
    app.wsgi_app = in_flight  # type: ignore[method-assign]  # Flask's documented way to add middleware
    server = make_server(host, port, app, threaded=True)
    stopping = threading.Event()

    def stop() -> None:
        stop_long_polls(app)
        server.shutdown()  # returns once serve_forever has left its loop

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            # not in the handler: shutdown() waits for serve_forever, which runs in this thread
            threading.Thread(target=stop, name="lienthong-stop", daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info("serving on http://%s:%s", host, port)
    try:
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not in_flight.wait_idle(DRAIN_TIMEOUT_S):
        log.warning("stopping with %d requests still running", in_flight.count)
    server.server_close()


def wake_polls_on_sigterm(worker: Any) -> None:
    """Chain the wake-up onto a gunicorn worker's SIGTERM handler (``handle_exit``, which
    only marks the worker as stopping; its loop then stops accepting and outwaits the open
    requests)."""
    app = worker.wsgi

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        worker.handle_exit(signum, frame)
        _in_background(stop_long_polls, app)

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn had it: signal.signal() resets it


def _in_background(function: Callable[..., None], *args: Any) -> None:
    """Run ``function`` outside the signal handler, which must not block: the notifier's lock may
    be held by the code the signal interrupted. Under gevent the handler runs in the event
    loop, where even starting a (patched) thread blocks, so it gets a greenlet
    (gunicorn's gevent worker does the same for SIGQUIT)."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        gevent.spawn(function, *args)
    else:
        threading.Thread(target=function, args=args, name="lienthong-stop", daemon=True).start()
