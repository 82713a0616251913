"""Every error leaves in one shape: ``{"error": {"code", "message", "fields"?}}`` with the
status its kind maps to, as JSON under ``/api`` (and for machine clients), or as a small HTML
page for a browser. No traceback ever reaches a client.

The one map from error kinds (``errors``) to HTTP statuses lives here.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import sqlalchemy as sa
from flask import Flask, Response, current_app, has_request_context, jsonify, render_template_string, request
from flask_babel import get_locale  # type: ignore[import-untyped]  # no type hints shipped
from werkzeug.exceptions import HTTPException

from exchange.http.auth import has_web_session
from errors import (BadRequest, Conflict, ErrorCode, Forbidden, Gone, NotFound, PayloadTooLarge, ServiceError,
                    ServiceUnavailable, TooManyRequests, Unauthorized, Unprocessable, UnsupportedMediaType)
from storage.blobs import BlobCorrupted, BlobNotFound, BlobStoreFull, BlobStoreMissing, BlobStoreUnavailable
from storage.db import DatabaseUnavailable, is_disk_full, is_missing_table
from translations import DEFAULT_LANGUAGE, LANGUAGES, Message, _l, translate

log = logging.getLogger(__name__)

STATUS_OF_KIND: dict[type[ServiceError], int] = {
    BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, Gone: 410,
    PayloadTooLarge: 413, UnsupportedMediaType: 415, Unprocessable: 422, TooManyRequests: 429,
    ServiceUnavailable: 503,
}
CODE_OF_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST, 401: ErrorCode.UNAUTHORIZED, 403: ErrorCode.FORBIDDEN, 404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED, 408: ErrorCode.REQUEST_TIMEOUT, 409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE, 416: ErrorCode.RANGE_NOT_SATISFIABLE, 422: ErrorCode.INVALID,
    429: ErrorCode.TOO_MANY_REQUESTS,
}
# Retry-After (seconds) of the refusals that waiting cures: a part of ours or one we depend on
# that is not answering, a twin request still running. None where it cannot
# (storage_corrupted, schema_not_migrated: an operator must act). A refusal may name its
# own delay (``ServiceError.retry_after``: the login back-off).
RETRY_AFTER_OF_CODE: dict[str, int] = {
    ErrorCode.STORAGE_UNAVAILABLE: 5, ErrorCode.DATABASE_UNAVAILABLE: 5, ErrorCode.TIMESTAMP_UNAVAILABLE: 10,
    ErrorCode.REVOCATION_UNAVAILABLE: 10, ErrorCode.TOO_MANY_REQUESTS: 30, ErrorCode.IDEMPOTENCY_IN_PROGRESS: 1,
}
JSON_PREFIXES = ("/api/", "/pki/", "/healthz", "/readyz")
LANGUAGE_COOKIE = "lang"  # set by the pages' language switch (exchange.http.web.routes)
WEB_BLUEPRINT = "web"
# For the HTTP errors no code of ours raised (an unknown URL, a wrong method): werkzeug's own
# descriptions are in English only.
MESSAGE_OF_STATUS: dict[int, Message] = {
    400: _l("the request cannot be understood"), 401: _l("authentication required"),
    403: _l("you may not do this"), 404: _l("nothing is found at this address"),
    405: _l("this method is not allowed here"), 408: _l("the request body did not arrive in time"),
    409: _l("the request conflicts with the current state"),
    415: _l("this media type is not supported"), 416: _l("the requested range is outside the file"),
    429: _l("too many requests; try again later"),
}

# Every error the service returns, whatever the status; the OpenAPI document shows it.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": [c.value for c in ErrorCode], "example": "invalid"},
                "message": {"type": "string", "example": "Dữ liệu không hợp lệ"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "per-field messages (422)"},
            },
        }
    },
}

_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ status }} · lienthong</title></head>
<body><main><h1>{{ status }}</h1><p>{{ message }}</p>
{% if fields %}<ul>{% for name, text in fields.items() %}<li><b>{{ name }}</b>: {{ text }}</li>{% endfor %}</ul>
{% endif %}
<p><a href="/">lienthong</a></p></main></body></html>"""


def code_of_status(status: int) -> ErrorCode:
    """The code for an HTTP error raised without one of ours (werkzeug's, ``abort``): a 5xx
    is the service's failure, never the client's ``bad_request``."""
    return CODE_OF_STATUS.get(status, ErrorCode.INTERNAL_ERROR if status >= 500 else ErrorCode.BAD_REQUEST)


def status_of(exc: ServiceError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS_OF_KIND:
            return STATUS_OF_KIND[kind]
    return 400


def request_language() -> str:
    """Flask-Babel's locale selector: the reader's choice on the pages' language switch (a
    cookie); else, on the web pages and for the pages' session (a report or a register's
    print opened from a page), Vietnamese (whatever the browser's own language); else the
    best of our languages in ``Accept-Language``, else Vietnamese."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    if request.blueprint == WEB_BLUEPRINT or (has_web_session() and not request.headers.get("Authorization")):
        return DEFAULT_LANGUAGE
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def reader_language() -> str:
    """The request's language as Flask-Babel settled it (Vietnamese outside a request)."""
    locale = get_locale() if has_request_context() else None
    return str(locale) if locale else DEFAULT_LANGUAGE


def text(value: Any) -> str:
    """A message in the reader's language."""
    return translate(value, reader_language())


def error_body(code: str, message: Any, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": str(code), "message": text(message)}
    if fields:
        error["fields"] = {name: text(value) for name, value in fields.items()}
    return {"error": error}


def validation_fields(detail: Mapping[str, Any]) -> dict[str, str]:
    """Flatten APIFlask/marshmallow's ``{"json": {"field": ["msg"]}}`` into ``{"field": "msg"}``."""
    fields: dict[str, str] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, (list, tuple)):
            fields[prefix or "_"] = "; ".join(text(v) for v in value)
        else:
            fields[prefix or "_"] = text(value)

    for _location, per_location in (detail or {}).items():
        walk("", per_location)
    return fields


def invalid_input(detail: Mapping[str, Any]) -> Unprocessable:
    """The 422 for marshmallow-style ``{location: {field: [messages]}}`` errors."""
    return Unprocessable(_l("invalid input"), fields=validation_fields(detail))


def wants_html() -> bool:
    """A browser asking for a page, not a program calling the API."""
    if request.path.startswith(JSON_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def render_error(status: int, code: str, message: Any, fields: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None, *, retry_after: int | None = None,
                 retryable: bool = True) -> Response:
    """The error response; ``Retry-After`` from ``retry_after`` or the code's usual delay
    (none when ``retryable`` is false: waiting would not cure it)."""
    body = error_body(code, message, fields)
    if wants_html():
        response = Response(render_template_string(_PAGE, status=status, lang=reader_language(), **body["error"]),
                            status=status, mimetype="text/html")
    else:
        response = jsonify(body)
        response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    delay = retry_after if retry_after is not None else RETRY_AFTER_OF_CODE.get(code)
    if retryable and delay is not None:
        response.headers["Retry-After"] = str(delay)
    return response


def _too_large_message() -> Message:
    limit = current_app.extensions["lienthong.settings"].max_upload_mb
    body_limit = request.max_content_length if has_request_context() else None
    if body_limit is not None and body_limit < limit * 1024 * 1024:  # a JSON body's limit (exchange.http.guards)
        return _l("the request body is larger than %(limit)s kB", limit=body_limit // 1024)
    return _l("the upload is larger than %(limit)s MB", limit=limit)


def register_error_handlers(app: Flask) -> None:
    if hasattr(app, "error_processor"):  # APIFlask: request validation and abort()
        @app.error_processor
        def _apiflask_error(err: Any) -> Response:
            if err.status_code == 422 or (err.status_code == 400 and err.detail):
                invalid = invalid_input(err.detail)
                return render_error(422, invalid.code, invalid.message, invalid.fields, err.headers)
            if err.status_code == 413:
                return render_error(413, ErrorCode.PAYLOAD_TOO_LARGE, _too_large_message(), headers=err.headers)
            code = code_of_status(err.status_code)
            return render_error(err.status_code, code, MESSAGE_OF_STATUS.get(err.status_code, err.message or code),
                                headers=err.headers)

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return render_error(status_of(exc), exc.code, exc.message, exc.fields, retry_after=exc.retry_after)

    @app.errorhandler(BlobStoreUnavailable)
    def _blob_store_down(exc: Exception) -> Response:
        log.error("blob store unavailable: %s", exc)
        return render_error(503, ErrorCode.STORAGE_UNAVAILABLE,
                            _l("the document store is not answering; try again later"))

    @app.errorhandler(BlobStoreMissing)
    def _blob_store_missing(exc: Exception) -> Response:
        # Waiting cures nothing: the folder or bucket must be restored (or created on purpose).
        log.critical("blob store missing: %s", exc)
        return render_error(503, ErrorCode.STORAGE_MISSING,
                            _l("the document store is missing; nothing was stored and the operators were told"),
                            retryable=False)

    @app.errorhandler(BlobStoreFull)
    def _blob_store_full(exc: Exception) -> Response:
        log.critical("blob store full: %s", exc)
        return render_error(507, ErrorCode.STORAGE_FULL,
                            _l("the document store is full; nothing was stored and the operators were told"),
                            retryable=False)

    @app.errorhandler(BlobCorrupted)
    def _blob_corrupted(exc: Exception) -> Response:
        # Integrity failure of our own storage: never serve the bytes; operators must restore.
        log.critical("stored blob failed its hash check: %s", exc)
        return render_error(503, ErrorCode.STORAGE_CORRUPTED,
                            _l("the stored file failed its integrity check and is withheld; the operators were told"))

    @app.errorhandler(BlobNotFound)
    def _blob_missing(exc: Exception) -> Response:
        log.error("blob missing: %s", exc)
        return render_error(503, ErrorCode.STORAGE_UNAVAILABLE,
                            _l("the stored file is missing; the operators were told"), retryable=False)

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(sa.exc.DBAPIError)
    @app.errorhandler(sa.exc.TimeoutError)  # the connection pool stayed full (an overload): curable
    def _database_error(exc: Exception) -> Response:
        if is_missing_table(exc):
            log.error("the database has no schema: run `flask --app app db upgrade`")
            return render_error(503, ErrorCode.SCHEMA_NOT_MIGRATED,
                                _l("the database schema is not migrated (flask --app app db upgrade)"),
                                retryable=False)
        if is_disk_full(exc):
            log.critical("database disk full: %s", str(exc).splitlines()[0])
            return render_error(507, ErrorCode.STORAGE_FULL,
                                _l("the database's disk is full; nothing was saved and the operators were told"),
                                retryable=False)
        if isinstance(exc, (DatabaseUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError,
                            sa.exc.TimeoutError)):
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("database unavailable: %s", first)
            return render_error(503, ErrorCode.DATABASE_UNAVAILABLE,
                                _l("the database is not answering; try again later"))
        return _unexpected(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 413:
            return render_error(413, ErrorCode.PAYLOAD_TOO_LARGE, _too_large_message())
        code = code_of_status(status)
        return render_error(status, code, MESSAGE_OF_STATUS.get(status, exc.description or exc.name or code),
                            headers={k: v for k, v in exc.get_headers() if k in ("Allow", "Content-Range")})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return render_error(500, ErrorCode.INTERNAL_ERROR,
                            _l("an unexpected error occurred; it has been logged"))
