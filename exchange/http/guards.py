"""Checks every request passes before any view sees it: the body's size limit (set before
the body is read: a JSON body is never parsed past it), strict JSON, and path segments and
query strings free of NUL and control characters; integer path segments are ASCII digits
the database can hold (anything else is no such URL: 404).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import NotFound as NoSuchURL
from werkzeug.routing import IntegerConverter, Map, ValidationError

from errors import BadRequest, NotFound, PayloadTooLarge, Unprocessable
from exchange.services.input_rules import DB_INT_MAX, HostileJSON, forbidden_character, strict_json_loads
from translations import _l

LOGIN_ENDPOINTS = frozenset({"api_session.post_session"})
LOGIN_BODY_LIMIT = 4 * 1024  # a username and a password
UPLOAD_MIMETYPES = frozenset({"multipart/form-data"})  # keep MAX_CONTENT_LENGTH (LIENTHONG_MAX_UPLOAD_MB)


class DatabaseIntConverter(IntegerConverter):
    """``<int:…>``: ASCII digits only (werkzeug's ``\\d`` matches every script's digits), at
    most the database's integer."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        # Past the database's range the id names nothing: 404 here. Werkzeug's own refusal
        # (ValidationError: try the next rule) ends, for a path whose other methods' rules
        # also exist, in a 405 naming them, a status the document does not list.
        try:
            return int(super().to_python(value))
        except ValidationError:
            raise NoSuchURL() from None  # werkzeug's kind: routing only turns an HTTPException into an answer


def body_limit(endpoint: str | None, mimetype: str, json_limit: int) -> int | None:
    """The most bytes this request's body may hold; None: the upload limit of the app."""
    if endpoint in LOGIN_ENDPOINTS:
        return LOGIN_BODY_LIMIT
    if mimetype in UPLOAD_MIMETYPES:
        return None
    return json_limit


def install(app: Flask, *, json_limit: int) -> None:
    """Register the checks; call before the blueprints are registered (the converter)."""
    app.url_map.converters["int"] = DatabaseIntConverter

    @app.before_request
    def _guard() -> None:
        if forbidden_character(request.path):
            raise NotFound(_l("nothing is found at this address"))
        limit = body_limit(request.endpoint, request.mimetype, json_limit)
        if limit is not None:
            request.max_content_length = limit  # werkzeug then refuses the body with 413 before reading it
        for name, value in request.args.items(multi=True):
            if forbidden_character(name) or forbidden_character(value):
                raise Unprocessable(_l("invalid input"),
                                    fields={name if not forbidden_character(name) else "_":
                                            _l("contains a NUL or control character, or a lone surrogate")})
        if request.is_json:
            raw = request.get_data(cache=True)
            if limit is not None and request.content_length is None and len(raw) >= limit:
                # a chunked body: werkzeug stops reading at the limit without a word; the rest
                # is still on the wire, and what was read is not the whole body
                raise PayloadTooLarge(_l("the request body is larger than %(limit)s kB", limit=limit // 1024))
            if raw.strip():
                try:
                    strict_json_loads(raw)
                except HostileJSON as exc:
                    refusal = BadRequest if exc.malformed else Unprocessable  # as webargs answers a syntax error
                    raise refusal(_l("the JSON body is refused"), fields={"json": exc.reason}) from None
