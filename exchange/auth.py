"""Who is calling: a user (Bearer token or web session) or an agency's system (agency token).

``caller_required`` is the one gate every endpoint goes through: 401 without valid
credentials, 403 without the role. Tokens are looked up by the SHA-256 of the secret and
the stored hash is compared in constant time; a revoked token is as good as none.

Login is rate-limited per username and client address: 5 failures in 5 minutes give 429
for the rest of the window. The limiter keeps no state of its own: it counts the
``session.login_failed`` events of the audit chain (in the database), so every app process
sees the same count.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Literal, TypeVar

import sqlalchemy as sa
from flask import g, request, session as web_session
from sqlmodel import Session, select

from errors import Forbidden, TooManyRequests, Unauthorized
from exchange import audit, token_cache
from exchange.models import Agency, ApiToken, AuditEvent, User, utcnow
from exchange.users import authenticate, hash_secret
from storage.db import engine_from_app, session_scope

F = TypeVar("F", bound=Callable)

LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=5)
TOKEN_TOUCH_EVERY = timedelta(hours=1)  # last_used_at is kept coarse: no write per request
SECURITY = [{"BearerAuth": []}, {"SessionCookie": []}]
SECURITY_SCHEMES = {
    "BearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "Token of a user or of an agency's system (`flask tokens create`)."},
    "SessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "Web session from `POST /api/v1/session`."},
}


@dataclass(frozen=True)
class Caller:
    kind: Literal["user", "agency"]
    agency_id: int
    agency_code: str
    user_id: int | None
    username: str | None
    roles: frozenset[str]
    token_id: int | None

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return self.username if self.kind == "user" and self.username else f"system:{self.agency_code}"

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def _user_caller(user: User, agency: Agency, token_id: int | None) -> Caller:
    return Caller("user", agency.id, agency.code, user.id, user.username, user.role_set, token_id)  # type: ignore[arg-type]


_T, _U, _A = ApiToken.__table__, User.__table__, Agency.__table__  # type: ignore[attr-defined]
# One indexed lookup in plain SQL (no ORM objects): every authenticated request runs it, so
# its cost is most of an empty inbox poll's. SQLAlchemy caches the compiled statement.
_TOKEN_LOOKUP = (
    sa.select(_T.c.id, _T.c.secret_sha256, _T.c.revoked_at, _T.c.last_used_at, _T.c.user_id,
              _U.c.username, _U.c.roles, _U.c.active, _A.c.id.label("agency_id"), _A.c.code)
    .select_from(_T.outerjoin(_U, _U.c.id == _T.c.user_id)
                 .join(_A, _A.c.id == sa.func.coalesce(_T.c.agency_id, _U.c.agency_id)))
    .where(_T.c.secret_sha256 == sa.bindparam("digest"))
)


def caller_from_token(conn, secret: str) -> Caller | None:  # type: ignore[no-untyped-def]
    """The caller a bearer secret stands for, or None (unknown, revoked, inactive user).
    ``conn``: a Connection or a Session."""
    digest = hash_secret(secret)
    row = conn.execute(_TOKEN_LOOKUP, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row.secret_sha256.encode(), digest.encode()) or row.revoked_at is not None:
        return None
    if row.user_id is not None:
        if not row.active:
            return None
        roles = frozenset(r for r in row.roles.split(",") if r)
        caller = Caller("user", row.agency_id, row.code, row.user_id, row.username, roles, row.id)
    else:
        caller = Caller("agency", row.agency_id, row.code, None, None, frozenset(), row.id)
    if row.last_used_at is None or _aware(row.last_used_at) < utcnow() - TOKEN_TOUCH_EVERY:
        g.lienthong_touch_token = row.id
    return caller


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)  # SQLite gives naive UTC


def _session_fingerprint(user: User) -> str:
    # changes when the password does, which ends the user's other web sessions
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def caller_from_web_session(session: Session) -> Caller | None:
    user_id = web_session.get("uid")
    if not isinstance(user_id, int):
        return None
    row = session.exec(select(User, Agency).join(Agency, Agency.id == User.agency_id).where(User.id == user_id)).first()
    if row is None:
        return None
    user, agency = row
    if not user.active or not hmac.compare_digest(str(web_session.get("fp", "")), _session_fingerprint(user)):
        return None
    return _user_caller(user, agency, None)


def resolve_caller() -> Caller | None:
    """The request's caller, computed once per request."""
    if "lienthong_caller" in g:
        return g.lienthong_caller
    header = request.headers.get("Authorization", "")
    caller: Caller | None = None
    engine = engine_from_app()
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            key = (str(engine.url), hash_secret(secret.strip()))
            caller = token_cache.get(key)
            if caller is None:
                with engine.connect() as conn:
                    caller = caller_from_token(conn, secret.strip())
                if caller is not None:
                    token_cache.put(key, caller)
    elif "uid" in web_session:
        with session_scope(engine) as session:
            caller = caller_from_web_session(session)
    touch = g.pop("lienthong_touch_token", None)
    if touch is not None:
        with session_scope(engine, write=True) as session:
            session.execute(sa.update(ApiToken).where(ApiToken.id == touch).values(last_used_at=utcnow()))
    g.lienthong_caller = caller
    return caller


def current_caller() -> Caller:
    caller = g.get("caller")
    if caller is None:
        raise Unauthorized("cần đăng nhập / authentication required")
    return caller


def caller_required(*roles: str, allow_agency_system: bool = False) -> Callable[[F], F]:
    """401 without valid credentials; 403 unless the caller is a user holding one of
    ``roles`` (any role at all when none is named) or, with ``allow_agency_system``, an
    agency's system. Put it right under the route decorator, so that it runs before the
    request body is validated (an anonymous caller learns nothing from a 422)."""
    wanted = frozenset(roles)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            caller = resolve_caller()
            if caller is None:
                raise Unauthorized("cần đăng nhập hoặc token hợp lệ / valid credentials required")
            if caller.kind == "agency":
                if not allow_agency_system:
                    raise Forbidden("token của cơ quan không dùng được ở đây / agency tokens cannot do this")
            elif not (caller.roles & wanted if wanted else caller.roles):
                raise Forbidden("không có quyền / you do not have the role for this")
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
        wrapper._spec = spec  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


# --- login -------------------------------------------------------------------------------

def _recent_failures(session: Session, username: str, ip: str) -> int:
    rows = session.exec(
        select(AuditEvent.details).where(
            AuditEvent.action == "session.login_failed",
            AuditEvent.object == f"user:{username}",
            AuditEvent.at >= utcnow() - LOGIN_WINDOW,
        )
    ).all()
    return sum(1 for details in rows if json.loads(details).get("ip") == ip)


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    agency_code: str = ""
    limited: bool = False


def login(session: Session, username: str, password: str, ip: str) -> LoginOutcome:
    """Check a password, rate-limited, auditing success and failure. Returns rather than
    raises, so the caller commits the failure's audit event before answering 401."""
    if _recent_failures(session, username, ip) >= LOGIN_MAX_FAILURES:
        return LoginOutcome(None, limited=True)
    user = authenticate(session, username, password)
    if user is None:
        known = session.exec(select(User, Agency).join(Agency, Agency.id == User.agency_id)
                             .where(User.username == username)).first()
        audit.record(session, actor=username, agency_code=known[1].code if known else "",
                     action="session.login_failed", object=f"user:{username}", details={"ip": ip})
        return LoginOutcome(None)
    agency = session.get(Agency, user.agency_id)
    audit.record(session, actor=user.username, agency_code=agency.code, action="session.login",
                 object=f"user:{user.username}", details={"ip": ip})
    return LoginOutcome(user, agency.code)


def start_web_session(user: User) -> None:
    web_session.clear()
    web_session["uid"] = user.id
    web_session["fp"] = _session_fingerprint(user)


def raise_for(outcome: LoginOutcome) -> None:
    if outcome.limited:
        raise TooManyRequests("đăng nhập sai quá nhiều lần, thử lại sau 5 phút / too many failed logins; "
                              "try again in 5 minutes")
    if outcome.user is None:
        raise Unauthorized("sai tên đăng nhập hoặc mật khẩu / wrong username or password")
