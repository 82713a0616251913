"""What every page shares: the login gate, the texts in the reader's language, the language
the reader chose, dates as a Vietnamese reader writes them (dd/mm/yyyy, times at +07:00)."""
from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any, Callable, TypeVar, cast
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from errors import Forbidden, ServiceError
from exchange.domain.caller import Caller
from exchange.domain.times import VN_TZ
from exchange.http.auth import resolve_caller
from exchange.http.errors import reader_language
from translations import Message, _l, translate

F = TypeVar("F", bound=Callable[..., Any])


def text(msgid: str | Message, **params: Any) -> str:
    """A catalogue's text in the reader's language: ``_("Log in")`` in a template, or a
    :class:`Message` a service or a form raised."""
    message = msgid if isinstance(msgid, Message) else Message(msgid, tuple(params.items()))
    return translate(message, reader_language())


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path of this site (never another host: no open redirect; no
    control character, which a Location header cannot carry)."""
    if not target or not target.isprintable():
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _path_of(url: str | None) -> str | None:
    """The path and query of a URL of this site (the page a form was posted from)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def vn_date(value: date | str | None) -> str:
    if not value:
        return ""
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return day.strftime("%d/%m/%Y")


def vn_time(value: datetime | str | None) -> str:
    if not value:
        return ""
    at = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M (+07:00)")


def page(*roles: str) -> Callable[[F], F]:
    """A page for a logged-in user (any role when none is named): a visitor without a live
    session goes to the login page (and comes back after it), a user without the role gets 403."""
    wanted = frozenset(roles)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = resolve_caller()
            if caller is None or not caller.is_user or caller.token_id is not None:
                # back to the page after the login; a form's POST cannot be sent again by a redirect
                back = (request.full_path.rstrip("?") if request.method in ("GET", "HEAD")
                        else local_path(_path_of(request.referrer)))
                return redirect(url_for("web.login", next=back))
            if not (caller.roles & wanted if wanted else caller.roles):
                raise Forbidden(_l("you do not have the role for this"))
            g.caller = caller
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def caller() -> Caller:
    return cast(Caller, g.caller)


def flash_outcome(done: Message, action: Callable[[], Any]) -> None:
    """Run a page's action; the next page says how it went (the refusal in words)."""
    try:
        action()
    except ServiceError as exc:
        flash(text(exc.message), "error")
    else:
        flash(text(done), "done")


def see_other(endpoint: str, **values: Any) -> Response:
    """After a successful form: the browser GETs the next page (no repeat on reload)."""
    return redirect(url_for(endpoint, **values), code=303)


URGENCY_NAMES: dict[str, Message] = {
    "normal": _l("normal"), "urgent": _l("urgent"), "very_urgent": _l("very urgent"), "flash": _l("flash"),
}
STATE_NAMES: dict[str, Message] = {
    "draft": _l("draft"), "signed": _l("signed"), "sealed": _l("sealed"), "sent": _l("sent"),
}
DELIVERY_STATUS_NAMES: dict[str, Message] = {
    "queued": _l("not yet received"), "delivered": _l("received (01)"), "returned": _l("returned (02)"),
    "accepted": _l("registered (03)"), "assigned": _l("assigned (04)"), "processing": _l("in progress (05)"),
    "completed": _l("completed (06)"), "recall_requested": _l("recall requested (13)"),
    "recalled": _l("recalled (15)"), "recall_refused": _l("recall refused (16)"),
}
ACTION_NAMES: dict[str, Message] = {
    "accepted": _l("Register (03)"), "returned": _l("Return"), "assigned": _l("Assign (04)"),
    "processing": _l("Start processing (05)"), "completed": _l("Complete (06)"),
}
REVISION_KIND_NAMES: dict[str, Message] = {
    "original": _l("original"), "signed": _l("signed revision"), "numbered": _l("numbered"),
    "validation_data": _l("validation data added"),
}
