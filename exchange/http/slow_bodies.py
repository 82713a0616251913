"""A request body must arrive in bounded time: a client trickling (or withholding) its body
would otherwise hold a worker's connection for as long as it likes (slowloris).

The deadline counts from the moment the app receives the request (its headers are in):
``LIENTHONG_BODY_READ_TIMEOUT`` seconds, plus what the announced length needs at
:data:`MIN_RATE` bytes a second, so a large upload on a slow commune link still gets
through. Past it a read answers 408 ``request_timeout``. Under gevent workers (the
production setting) even a read that blocks is cut at the deadline; elsewhere the check
falls between reads, and the reverse proxy's ``client_body_timeout`` is the bound
(docs/deployment.md).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from werkzeug.exceptions import RequestTimeout

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MIN_RATE = 64 * 1024  # bytes a second a body may take, beyond the base timeout


def _gevent_timeout() -> Any:
    """gevent's Timeout when this process's sockets are gevent's (so a blocked read yields
    to the hub and can be interrupted), else None."""
    try:
        from gevent import Timeout, monkey
    except ImportError:  # gevent is in requirements.txt; a bare install may lack it
        return None
    return Timeout if monkey.is_module_patched("socket") else None


class DeadlineStream:
    """``wsgi.input`` with a deadline for every read."""

    def __init__(self, stream: Any, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline
        self._timeout = _gevent_timeout()

    def _call(self, read: Callable[..., Any], *args: Any) -> Any:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout()
        if self._timeout is None:
            return read(*args)
        with self._timeout(remaining, RequestTimeout()):
            return read(*args)

    def read(self, *args: Any) -> bytes:
        return self._call(self._stream.read, *args)

    def readline(self, *args: Any) -> bytes:
        return self._call(self._stream.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._call(self._stream.readlines, *args)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class BodyReadDeadline:
    """WSGI middleware installing :class:`DeadlineStream` (``seconds`` 0: none)."""

    def __init__(self, app: "WSGIApplication", seconds: float) -> None:
        self.app, self.seconds = app, seconds

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if self.seconds > 0 and stream is not None:
            try:
                announced = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                announced = 0
            deadline = time.monotonic() + self.seconds + announced / MIN_RATE
            environ["wsgi.input"] = DeadlineStream(stream, deadline)
        return self.app(environ, start_response)
