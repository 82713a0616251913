"""Receive lienthong's webhooks: check each POST's signature, refuse replays, drop duplicates.

Standard library only: copy this one file into an agency's system if need be.

lienthong POSTs each event of the agency's feed (the JSON of ``GET /api/v1/events``'s items)
with two headers::

    Lienthong-Event-Id: 42
    Lienthong-Signature: t=1764817200,v1=<hex HMAC-SHA256(secret, b"1764817200." + body)>

:func:`verify` checks one request (``hmac.compare_digest``; a timestamp older than five
minutes, or further than the allowed clock skew in the future, is refused: a recorded request
cannot be replayed later). :class:`WebhookReceiver` does that for each request and calls your
handler once per event id: lienthong may deliver an event again after a restart (never with
another id), and the receiver answers such a duplicate 200 without calling the handler. It
is a WSGI application (mount it in any WSGI server) and makes an ``http.server`` handler::

    receiver = WebhookReceiver(secret, handle=lambda event: print(event["kind"]),
                               seen_path="seen-events.txt")
    make_server(receiver, "127.0.0.1", 8080).serve_forever()

A handler that raises makes the receiver answer 500: lienthong tries the event again later
(with growing delays, for 24 hours), and holds back the later events until then, so they
arrive in order. Answer quickly: lienthong waits about ten seconds for an answer.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping

__all__ = ["InvalidSignature", "SeenEvents", "WebhookReceiver", "make_server", "sign", "verify"]

SIGNATURE_HEADER = "Lienthong-Signature"
EVENT_ID_HEADER = "Lienthong-Event-Id"
TOLERANCE_S = 300  # a signature older than five minutes is a replay
SKEW_S = 30  # how far in the future a timestamp may be (clocks differ a little)
BODY_MAX = 1024 * 1024
SEEN_MAX = 100_000


class InvalidSignature(ValueError):
    """The request is not a genuine, fresh webhook from lienthong (the reason in the message)."""


def _header(headers: Any, name: str) -> str | None:
    """A header from a dict, an ``email.message.Message`` (http.server) or a WSGI environ."""
    if hasattr(headers, "get"):
        value = headers.get(name)
        if value is None:
            value = headers.get("HTTP_" + name.upper().replace("-", "_"))
        if value is not None:
            return str(value)
    if isinstance(headers, Mapping):
        wanted = name.lower()
        for key, value in headers.items():
            if str(key).lower() == wanted:
                return str(value)
    return None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value lienthong sends (for tests of your own receiver)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _parse(value: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            # ASCII digits only: str.isdigit() also says yes to "²" (which int() refuses) and to
            # other scripts' digits (which int() reads), and neither is what lienthong sends
            if not (item.isascii() and item.isdigit()) or len(item) > 12:
                raise InvalidSignature("the signature's timestamp is not a number")
            timestamp = int(item)
        elif name == "v1":
            signatures.append(item)
    if timestamp is None or not signatures:
        raise InvalidSignature(f"{SIGNATURE_HEADER} must be t=<unix time>,v1=<hex>")
    return timestamp, signatures


def verify(secret: str, headers: Any, body: bytes, *, tolerance: float = TOLERANCE_S, skew: float = SKEW_S,
           now: float | None = None) -> dict[str, Any]:
    """The event (parsed body) when ``body`` was signed with ``secret`` within the last
    ``tolerance`` seconds; :class:`InvalidSignature` otherwise. ``headers``: a dict, an
    ``http.server`` request's headers or a WSGI environ."""
    value = _header(headers, SIGNATURE_HEADER)
    if not value:
        raise InvalidSignature(f"no {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse(value)
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise InvalidSignature("the signature is too old (a replay?)")
    if timestamp > current + skew:
        raise InvalidSignature("the signature's timestamp is in the future")
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures):
        raise InvalidSignature("the signature does not match the body")
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidSignature("the body is not JSON") from None
    if not isinstance(event, dict) or "id" not in event:
        raise InvalidSignature("the body is not an event")
    event_id = _header(headers, EVENT_ID_HEADER)
    if event_id is not None and event_id != str(event["id"]):
        raise InvalidSignature(f"{EVENT_ID_HEADER} is not the event's id")
    return event


class SeenEvents:
    """The event ids already handled: the newest ``limit`` in memory, and appended to ``path``
    (one id a line) when one is given, so that a restarted receiver still knows them."""

    def __init__(self, path: str | os.PathLike[str] | None = None, limit: int = SEEN_MAX) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit
        self._path = path
        if path is not None and os.path.exists(path):
            with open(path, encoding="ascii") as lines:
                self._remember(line.strip() for line in lines)

    def _remember(self, ids: Iterable[str]) -> None:
        for event_id in ids:
            if event_id:
                self._ids[event_id] = None
                self._ids.move_to_end(event_id)
        while len(self._ids) > self._limit:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        return str(event_id) in self._ids

    def add(self, event_id: object) -> None:
        self._remember([str(event_id)])
        if self._path is not None:
            with open(self._path, "a", encoding="ascii") as out:
                out.write(f"{event_id}\n")
                out.flush()
                os.fsync(out.fileno())


class WebhookReceiver:
    """A WSGI application calling ``handle(event)`` once per genuine event (see the module)."""

    def __init__(self, secret: str, handle: Callable[[dict[str, Any]], None], *,
                 seen: SeenEvents | None = None, seen_path: str | os.PathLike[str] | None = None,
                 tolerance: float = TOLERANCE_S, skew: float = SKEW_S) -> None:
        self.secret = secret
        self.handle = handle
        self.seen = seen if seen is not None else SeenEvents(seen_path)
        self.tolerance = tolerance
        self.skew = skew
        self._lock = threading.Lock()  # a duplicate arriving while the first is handled waits for it

    def receive(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        """``(HTTP status, JSON answer)`` for one POST."""
        try:
            event = verify(self.secret, headers, body, tolerance=self.tolerance, skew=self.skew)
        except InvalidSignature as exc:
            return 400, {"error": str(exc)}
        with self._lock:
            if event["id"] in self.seen:
                return 200, {"duplicate": True}
            try:
                self.handle(event)
            except Exception as exc:  # noqa: BLE001 - lienthong will try again
                return 500, {"error": type(exc).__name__}
            self.seen.add(event["id"])
        return 200, {"ok": True}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            status, answer = 405, {"error": "POST only"}
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= BODY_MAX:
                status, answer = 413, {"error": "body too large"}
            else:
                status, answer = self.receive(environ, environ["wsgi.input"].read(length))
        payload = json.dumps(answer).encode()
        start_response(f"{status} {_REASONS.get(status, 'Error')}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """An ``http.server`` request handler class answering with this receiver."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= BODY_MAX:
                    status, answer = 413, {"error": "body too large"}
                else:
                    status, answer = receiver.receive(self.headers, self.rfile.read(length))
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting: it will send the event again

            def log_message(self, format: str, *args: Any) -> None:  # quiet; override to log
                pass

        return Handler


def make_server(receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An ``http.server`` serving ``receiver`` (``port`` 0: any free one, see ``server_port``)."""
    return ThreadingHTTPServer((host, port), receiver.handler_class())


_REASONS = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 413: "Payload Too Large",
            500: "Internal Server Error"}
