"""The process's log lines, and the request id that ties a request's lines together.

``LIENTHONG_LOG_FORMAT=json`` writes one JSON object per line (python-json-logger): ``time``,
``level``, ``logger``, ``message``, ``request_id`` (null outside a request), for log
collectors; the default is one plain text line. Each request gets an id: the caller's
``X-Request-Id`` when it is a short token (a proxy's or the agency system's own, so both
sides' logs can be matched), else a fresh one; the response carries it back.

What is logged never includes a request's headers or body: no password, no bearer token
(tests/integration/exchange/http/test_logs.py checks a login and a token-authenticated call).
"""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import IO

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

access_log = logging.getLogger("lienthong.access")  # one line per request answered
REQUEST_ID_HEADER = "X-Request-Id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")  # nothing a log line could be forged with
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = "{asctime}{levelname}{name}{message}{request_id}"
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure(log_format: str, stream: IO[str] | None = None, level: int = logging.INFO) -> logging.Handler:
    """One handler on the root logger, in the chosen format; returns it (tests remove it)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, style="{", rename_fields=JSON_NAMES, json_ensure_ascii=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, "lienthong", False)]:
        root.removeHandler(previous)
    handler.lienthong = True  # type: ignore[attr-defined]  # marks the handler this module owns
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def _assign_request_id() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _ACCEPTED_ID.fullmatch(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _return_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
        # the path without its query string: a query may carry what a log must not keep
        access_log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code,
                        (time.perf_counter() - g.request_started) * 1000)
    return response


def install(app: Flask) -> None:
    app.before_request(_assign_request_id)
    app.after_request(_return_request_id)
