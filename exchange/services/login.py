"""Who is calling: bearer tokens and web sessions resolved to a :class:`Caller`, and logging in.

Tokens are looked up by the SHA-256 of the secret and the stored hash is compared in
constant time; a revoked token is as good as none. Login is throttled with an exponential
back-off (``exchange.services.login_throttle``) counted in the database, so every app process
sees the same count.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import col, select

from errors import Unauthorized
from exchange.adapters import audit_log
from exchange.domain.caller import Caller
from exchange.domain.enums import CallerKind
from exchange.models import Agency, ApiToken, User, utcnow
from exchange.services import login_throttle as throttle
from exchange.services.accounts import authenticate, hash_secret
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

TOKEN_TOUCH_EVERY = timedelta(hours=1)  # last_used_at is kept coarse: no write per request

_T, _U, _A = (sa.inspect(model).local_table for model in (ApiToken, User, Agency))
# One indexed lookup in plain SQL (no ORM objects): every authenticated request runs it, so
# its cost is most of an empty inbox poll's. SQLAlchemy caches the compiled statement.
_TOKEN_LOOKUP = (
    sa.select(_T.c.id, _T.c.secret_sha256, _T.c.revoked_at, _T.c.last_used_at, _T.c.user_id,
              _U.c.username, _U.c.roles, _U.c.active, _A.c.id.label("agency_id"), _A.c.code)
    .select_from(_T.outerjoin(_U, _U.c.id == _T.c.user_id)
                 .join(_A, _A.c.id == sa.func.coalesce(_T.c.agency_id, _U.c.agency_id)))
    .where(_T.c.secret_sha256 == sa.bindparam("digest"))
)


def _lookup_token(conn: sa.Connection, digest: str) -> tuple[Caller | None, int | None]:
    """The caller the secret's digest stands for, and the token id when its last use is stale."""
    row = conn.execute(_TOKEN_LOOKUP, {"digest": digest}).first()
    if (row is None or not hmac.compare_digest(row.secret_sha256.encode(), digest.encode())
            or row.revoked_at is not None):
        return None, None
    if row.user_id is not None:
        if not row.active:
            return None, None
        roles = frozenset(r for r in row.roles.split(",") if r)
        caller = Caller(CallerKind.USER, row.agency_id, row.code, row.user_id, row.username, roles, row.id)
    else:
        caller = Caller(CallerKind.AGENCY, row.agency_id, row.code, None, None, frozenset(), row.id)
    stale = row.last_used_at is None or row.last_used_at < utcnow() - TOKEN_TOUCH_EVERY
    return caller, (row.id if stale else None)


def caller_for_token(svc: "Services", secret: str) -> Caller | None:
    """The caller a bearer secret stands for, or None (unknown, revoked, inactive user)."""
    digest = hash_secret(secret)
    caller = svc.token_cache.get(digest)
    if caller is not None:
        return caller
    with svc.engine.connect() as conn:
        caller, touch = _lookup_token(conn, digest)
    if caller is None:
        return None
    if touch is not None:
        with svc.uow(write=True) as uow:
            uow.session.execute(sa.update(ApiToken).where(col(ApiToken.id) == touch).values(last_used_at=utcnow()))
            uow.commit()
    svc.token_cache.put(digest, caller)
    return caller


def password_fingerprint(password_hash: str) -> str:
    """Changes when the password does, which ends the user's web sessions (even one changed
    behind the service's back, straight in the database)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def session_fingerprint(user: User) -> str:
    return password_fingerprint(user.password_hash)


@dataclass(frozen=True)
class Login:
    """A successful login: what the web session keeps and what the client is shown."""
    user_id: int
    fingerprint: str
    username: str
    full_name: str
    agency_code: str
    roles: list[str]


def login(svc: "Services", username: str, password: str, ip: str) -> Login:
    """Check a password, throttled, auditing success (and failures in summary).

    The password is checked outside any write transaction: a slow hash, or a spray of
    attempts, never holds the database's write lock. Each failure is one row of
    ``login_failure``; the audit chain gets a ``session.login_failed`` summary only when a
    client address's or an account's count in the window reaches 1, 10, 100, …"""
    now = utcnow()
    with svc.uow() as uow:
        throttle.check(uow.session, username, ip, now)
        user = authenticate(uow.session, username, password)
        # before the next query: its autoflush would leave the rehashed user clean (and the
        # new hash unsaved, while the session's fingerprint is taken from it)
        rehashed = user.password_hash if user is not None and user in uow.session.dirty else None
        known = uow.session.exec(select(Agency).join(User, col(Agency.id) == User.agency_id)
                                 .where(User.username == username)).first()
    if user is None:
        with svc.uow(write=True) as uow:
            counts = throttle.record_failure(uow.session, username, ip, now)
            if throttle.worth_a_summary(counts, account_exists=known is not None):
                audit_log.record(uow.session, actor=username, agency_code=known.code if known else "",
                                 action="session.login_failed", object=f"user:{username}",
                                 details={"ip": ip, "failures_from_ip": counts.from_ip,
                                          "failures_for_user": counts.for_user,
                                          "window_minutes": int(throttle.WINDOW.total_seconds() // 60)},
                                 agency_ids=[known.id] if known and known.id is not None else [])
            uow.commit()
        raise Unauthorized(_l("wrong username or password"))
    assert known is not None and user.id is not None
    with svc.uow(write=True) as uow:
        if rehashed is not None:
            uow.session.execute(sa.update(User).where(col(User.id) == user.id).values(password_hash=rehashed))
        throttle.forget_pair(uow.session, username, ip)
        audit_log.record(uow.session, actor=user.username, agency_code=known.code, action="session.login",
                         object=f"user:{user.username}", details={"ip": ip}, agency_ids=[user.agency_id])
        uow.commit()
    return Login(user.id, session_fingerprint(user), user.username, user.full_name, known.code,
                 sorted(user.role_set))
