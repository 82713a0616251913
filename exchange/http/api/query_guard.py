"""Unknown query parameters are refused (422 ``unknown_parameter``), on every GET of the API.

A misspelt filter (``?urgncy=flash``) that were silently ignored would answer the whole list
as if it were the filtered one. Each endpoint's accepted names are read once from what it
already declares for the OpenAPI document: the query schemas of ``@bp.input(...,
location="query")`` (and ``common.query_input``), plus any names a view reads by hand,
declared with :func:`accepts_query`.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from flask import Flask, current_app, request

from errors import ErrorCode, Unprocessable
from exchange.http.auth import resolve_caller
from translations import _l

API_BLUEPRINT_PREFIX = "api_"  # the JSON API's blueprints (exchange.http.api.*), not the OpenAPI docs
F = TypeVar("F", bound=Callable[..., Any])


def accepts_query(*names: str) -> Callable[[F], F]:
    """Declare query parameters a view reads from ``request.args`` itself."""
    def decorate(view: F) -> F:
        view._extra_query_names = frozenset(names)  # type: ignore[attr-defined]  # read by _accepted_names
        return view
    return decorate


def _accepted_names(view: Any) -> frozenset[str]:
    names: set[str] = set(getattr(view, "_extra_query_names", ()))
    for schema, location in (getattr(view, "_spec", None) or {}).get("args") or ():
        if location == "query":
            names.update(field.data_key or name for name, field in schema.fields.items())
    return frozenset(names)


def _check_query() -> None:
    if request.method != "GET" or not request.args or not (request.blueprint or "").startswith(API_BLUEPRINT_PREFIX):
        return
    endpoint = request.endpoint or ""
    accepted = _ACCEPTED.get(endpoint)
    if accepted is None:
        accepted = _ACCEPTED[endpoint] = _accepted_names(current_app.view_functions.get(endpoint))
    unknown = [name for name in request.args if name not in accepted]
    if unknown and resolve_caller() is not None:  # an anonymous caller gets the view's 401 first
        known = ", ".join(sorted(accepted)) or "—"
        raise Unprocessable(_l("unknown query parameter"), code=ErrorCode.UNKNOWN_PARAMETER,
                            fields={name: _l("not a parameter here; known: %(known)s", known=known)
                                    for name in unknown})


_ACCEPTED: dict[str, frozenset[str]] = {}  # endpoint → its names, worked out on its first request


def install(app: Flask) -> None:
    app.before_request(_check_query)
