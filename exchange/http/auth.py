"""Who is calling an endpoint: ``caller_required`` is the one gate every endpoint goes
through — 401 without valid credentials, 403 without the role. The caller comes from a
bearer token or the web session (``exchange.services.login`` decides who it is)."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

from flask import current_app, g, request
from flask import session as web_session

from errors import Forbidden, Unauthorized
from exchange.domain.caller import Caller
from exchange.services import login, web_sessions
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "sid"  # in Flask's signed cookie: the web session's secret (exchange.services.web_sessions)

SECURITY: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"SessionCookie": []}]
SECURITY_SCHEMES = {
    "BearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "Token of a user or of an agency's system (`flask tokens create`)."},
    "SessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "Web session from `POST /api/v1/session`."},
}


def services() -> "Services":
    return current_app.extensions["lienthong.services"]


def client_ip() -> str:
    # behind LIENTHONG_PROXY_HOPS reverse proxies, ProxyFix has set remote_addr from X-Forwarded-For
    return request.remote_addr or ""


def resolve_caller() -> Caller | None:
    """The request's caller, computed once per request."""
    if "lienthong_caller" in g:
        return g.lienthong_caller
    header = request.headers.get("Authorization", "")
    caller: Caller | None = None
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            caller = login.caller_for_token(services(), secret.strip())
    elif isinstance(web_session.get(SESSION_KEY), str):
        caller = web_sessions.caller_for_session(services(), web_session[SESSION_KEY])
    g.lienthong_caller = caller
    return caller


def current_caller() -> Caller:
    caller = g.get("caller")
    if caller is None:
        raise Unauthorized(_l("authentication required"))
    return caller


def start_web_session(user: login.Login) -> None:
    """A new server-side session; the signed cookie carries its secret and nothing else
    (a fresh cookie: no value of a session before the login survives it)."""
    web_session.clear()
    web_session[SESSION_KEY] = web_sessions.open_session(services(), user)


def end_web_session() -> None:
    """Logout: the session's row is revoked, so the old cookie is worthless if replayed."""
    secret = web_session.get(SESSION_KEY)
    if isinstance(secret, str):
        caller = resolve_caller()
        web_sessions.end_session(services(), secret, caller if caller is not None and caller.token_id is None
                                 else None, client_ip())
    web_session.clear()


def has_web_session() -> bool:
    return isinstance(web_session.get(SESSION_KEY), str)


# what a browser says of where a request comes from (Fetch Metadata): one of our own pages,
# or the user's own doing (the address typed, a bookmark)
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def from_own_pages() -> bool:
    """Whether a GET may record something for the caller (a recipient's download marks its
    copy fetched): always with a bearer token (a program asked); with the session cookie only
    when the browser says the request came from our own pages or the user's own doing
    (``Sec-Fetch-Site: same-origin`` or ``none``). A cross-site link, another site of the same
    domain, or a request without the header (no way to tell) is served, and records nothing."""
    if request.headers.get("Authorization"):
        return True
    return request.headers.get("Sec-Fetch-Site", "").strip().lower() in OWN_FETCH_SITES


def caller_required(*roles: str, allow_agency_system: bool = False) -> Callable[[F], F]:
    """401 without valid credentials; 403 unless the caller is a user holding one of
    ``roles`` (any role at all when none is named) or, with ``allow_agency_system``, an
    agency's system. Put it right under the route decorator, so that it runs before the
    request body is validated (an anonymous caller learns nothing from a 422)."""
    wanted = frozenset(roles)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = resolve_caller()
            if caller is None:
                raise Unauthorized(_l("valid credentials required"))
            if not caller.is_user:
                if not allow_agency_system:
                    raise Forbidden(_l("agency tokens cannot do this"))
            elif not (caller.roles & wanted if wanted else caller.roles):
                raise Forbidden(_l("you do not have the role for this"))
            g.caller = caller
            return view(*args, **kwargs)

        spec = dict(getattr(wrapper, "_spec", {}))
        spec["security"] = SECURITY
        responses = spec.get("responses")
        if responses is None:
            spec["responses"] = {403: "Forbidden: missing role, or another agency's object"}
        elif isinstance(responses, list):
            spec["responses"] = sorted(set(responses) | {403})
        else:
            spec["responses"] = {403: "Forbidden", **responses}
        wrapper._spec = spec  # type: ignore[attr-defined]  # APIFlask reads a view's OpenAPI from _spec
        return cast(F, wrapper)

    return decorate
