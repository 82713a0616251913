"""Server-side web sessions: the browser's cookie carries a random secret, the database the
SHA-256 of it (``web_session``), so that logging out, a password change and a deactivation end
a session for good — an old cookie replayed afterwards is worth nothing.

A session ends after ``web_session_idle_minutes`` without a request and, whatever its use,
``web_session_max_hours`` after the login. ``last_seen_at`` is written at most once a minute:
no write per page view.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import col

from exchange.adapters import audit_log
from exchange.domain.caller import Caller
from exchange.domain.enums import CallerKind
from exchange.models import Agency, User, WebSession, utcnow
from exchange.services.accounts import hash_secret
from exchange.services.login import Login, password_fingerprint

if TYPE_CHECKING:
    from bootstrap import Services

SECRET_BYTES = 32
TOUCH_EVERY = timedelta(minutes=1)

_S, _U, _A = (sa.inspect(model).local_table for model in (WebSession, User, Agency))
_LOOKUP = (
    sa.select(_S.c.id, _S.c.fingerprint, _S.c.created_at, _S.c.last_seen_at, _S.c.revoked_at, _U.c.id.label("uid"),
              _U.c.username, _U.c.roles, _U.c.active, _U.c.password_hash, _A.c.id.label("agency_id"), _A.c.code)
    .select_from(_S.join(_U, _U.c.id == _S.c.user_id).join(_A, _A.c.id == _U.c.agency_id))
    .where(_S.c.secret_sha256 == sa.bindparam("digest"))
)


def open_session(svc: "Services", user: Login) -> str:
    """A new session for a user who has just logged in; the secret for the cookie."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    with svc.uow(write=True) as uow:
        uow.session.add(WebSession(secret_sha256=hash_secret(secret), user_id=user.user_id,
                                   fingerprint=user.fingerprint))
        uow.commit()
    return secret


def caller_for_session(svc: "Services", secret: str) -> Caller | None:
    """The user a live session stands for; None when it is unknown, revoked, idle too long,
    too old, its user deactivated or its password changed since."""
    now = utcnow()
    settings = svc.settings
    with svc.engine.connect() as conn:
        row = conn.execute(_LOOKUP, {"digest": hash_secret(secret)}).first()
    if row is None or row.revoked_at is not None or not row.active:
        return None
    if not secrets.compare_digest(row.fingerprint, password_fingerprint(row.password_hash)):
        return None
    if (now - row.last_seen_at > timedelta(minutes=settings.web_session_idle_minutes)
            or now - row.created_at > timedelta(hours=settings.web_session_max_hours)):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with svc.uow(write=True) as uow:
            uow.session.execute(sa.update(WebSession).where(col(WebSession.id) == row.id).values(last_seen_at=now))
            uow.commit()
    roles = frozenset(r for r in row.roles.split(",") if r)
    return Caller(CallerKind.USER, row.agency_id, row.code, row.uid, row.username, roles, None)


def end_session(svc: "Services", secret: str, caller: Caller | None, ip: str) -> None:
    """Logout: the row is revoked (the cookie is worthless from now on) and, when the session
    was live, the trail says so."""
    with svc.uow(write=True) as uow:
        uow.session.execute(sa.update(WebSession).where(col(WebSession.secret_sha256) == hash_secret(secret),
                                                        col(WebSession.revoked_at).is_(None))
                            .values(revoked_at=utcnow()))
        if caller is not None:
            audit_log.record(uow.session, actor=caller.actor, agency_code=caller.agency_code,
                             action="session.logout", object=f"user:{caller.username}", details={"ip": ip},
                             agency_ids=[caller.agency_id])
        uow.commit()
