"""Users (argon2 passwords) and API tokens (only the secret's SHA-256 is stored).

Every change writes its audit event in the same transaction. The functions taking the
``Services`` object are the use cases (the CLI calls them); those taking a session are their
steps, for callers that already hold a unit of work (the demo, tests).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from typing import TYPE_CHECKING, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
import sqlalchemy as sa
from sqlmodel import Session, col, select

from errors import Conflict, NotFound, Unprocessable
from exchange.adapters import audit_log
from exchange.domain.caller import CLI_ACTOR
from exchange.domain.enums import Role, values
from exchange.models import Agency, ApiToken, User, WebSession, utcnow
from exchange.services import directory
from translations import Message, _l

if TYPE_CHECKING:
    from bootstrap import Services
    from storage.db import UnitOfWork

ROLES = values(Role)

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
TOKEN_PREFIX = "lt_"
MIN_PASSWORD = 10
_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so that a wrong username costs
    as long as a wrong password and timing does not reveal which accounts exist. Made on first
    use, with the hasher's current parameters (not at import: every CLI process would pay an
    argon2 hash to start)."""
    found = _dummy_hashes.get(id(_hasher))
    if found is None:
        found = _dummy_hashes[id(_hasher)] = _hasher.hash(secrets.token_urlsafe(16))
    return found


def use_fast_hashing_for_tests() -> None:
    """Cheap argon2 parameters: for test suites that create many users, never for service."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_roles(roles: str | Iterable[str]) -> list[str]:
    items = [r.strip() for r in (roles.split(",") if isinstance(roles, str) else roles)]
    items = [r for r in items if r]
    unknown = [r for r in items if r not in ROLES]
    if unknown:
        message = _l("unknown roles: %(unknown)s (use %(roles)s)", unknown=", ".join(unknown), roles=", ".join(ROLES))
        raise Unprocessable(message, fields={"roles": message})
    return sorted(set(items), key=ROLES.index)


def add_user(session: Session, *, username: str, agency_code: str, roles: str | Iterable[str], full_name: str,
             position: str = "", password: str, actor: str = CLI_ACTOR) -> User:
    problems: dict[str, Message] = {}
    if not _USERNAME.match(username or ""):
        problems["username"] = _l("2–100 characters of a-z, 0-9, '.', '_', '-'")
    if not full_name or len(full_name) > 255:
        problems["full_name"] = _l("required, at most 255 characters")
    if len(position) > 255:
        problems["position"] = _l("at most %(max)s characters", max=255)
    try:
        _check_password(password)
    except Unprocessable as exc:
        problems.update(exc.fields or {})
    if problems:
        raise Unprocessable(_l("invalid user"), fields=problems)
    role_list = parse_roles(roles)
    agency = directory.get_by_code(session, agency_code)
    assert agency.id is not None  # read from the directory
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(_l("username %(username)s is taken", username=username),
                       fields={"username": _l("taken")})
    user = User(username=username, full_name=full_name, position=position, agency_id=agency.id,
                roles=",".join(role_list), password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    audit_log.record(session, actor=actor, agency_code=agency.code, action="user.create",
                     object=f"user:{username}", details={"roles": role_list}, agency_ids=[agency.id])
    return user


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        message = _l("at least %(min)s characters", min=MIN_PASSWORD)
        raise Unprocessable(message, fields={"password": message})


def _agency_code(session: Session, user: User) -> str:
    agency = session.get(Agency, user.agency_id)
    return agency.code if agency else ""


def set_password(session: Session, username: str, password: str, *, actor: str = CLI_ACTOR) -> User:
    """A new password; the user's existing web sessions end (their cookie no longer matches)."""
    _check_password(password)
    user = get_user(session, username)
    user.password_hash = _hasher.hash(password)
    session.add(user)
    revoke_web_sessions(session, user)
    audit_log.record(session, actor=actor, agency_code=_agency_code(session, user), action="user.password",
                     object=f"user:{username}")
    return user


def set_active(session: Session, username: str, active: bool, *, actor: str = CLI_ACTOR) -> User:
    """Deactivated users are refused everywhere at once: web sessions and tokens alike."""
    user = get_user(session, username)
    if user.active != active:
        user.active = active
        session.add(user)
        if not active:
            revoke_web_sessions(session, user)
        audit_log.record(session, actor=actor, agency_code=_agency_code(session, user),
                         action="user.activate" if active else "user.deactivate", object=f"user:{username}")
    return user


def revoke_web_sessions(session: Session, user: User) -> None:
    """Every open web session of the user ends now (a password change, a deactivation)."""
    session.execute(sa.update(WebSession)
                    .where(col(WebSession.user_id) == user.id, col(WebSession.revoked_at).is_(None))
                    .values(revoked_at=utcnow()))


def set_roles(session: Session, username: str, roles: str | Iterable[str], *, actor: str = CLI_ACTOR) -> User:
    role_list = parse_roles(roles)
    user = get_user(session, username)
    user.roles = ",".join(role_list)
    session.add(user)
    audit_log.record(session, actor=actor, agency_code=_agency_code(session, user), action="user.roles",
                     object=f"user:{username}", details={"roles": role_list})
    return user


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(_l("no user %(username)s", username=username))
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None. Rehashes on parameter upgrades."""
    user = session.exec(select(User).where(User.username == username)).one_or_none()
    try:
        _hasher.verify(user.password_hash if user and user.password_hash else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or not user.password_hash:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    return user


def add_token(session: Session, *, user_id: int | None = None, agency_id: int | None = None,
              name: str = "", actor: str = CLI_ACTOR) -> tuple[ApiToken, str]:
    """A new token for a user or an agency's system. The secret is returned once, here;
    only its SHA-256 is stored."""
    if (user_id is None) == (agency_id is None):
        raise Unprocessable(_l("a token belongs to a user or an agency"),
                            fields={"owner": _l("give exactly one of user or agency")})
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(_l("no such user"))
        agency = session.get(Agency, user.agency_id)
        owner = f"user:{user.username}"
    else:
        agency = session.get(Agency, agency_id)
        if agency is None:
            raise NotFound(_l("no such agency"))
        owner = f"agency:{agency.code}"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, agency_id=agency_id, name=name[:100], secret_sha256=hash_secret(secret))
    session.add(token)
    session.flush()
    audit_log.record(session, actor=actor, agency_code=agency.code if agency else "", action="token.create",
                     object=f"token:{token.id}", details={"owner": owner, "name": token.name})
    return token, secret


def revoke(session: Session, token_id: int, *, actor: str = CLI_ACTOR) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_l("no token %(id)s", id=token_id))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        agency_id = token.agency_id
        if agency_id is None and token.user_id is not None:
            user = session.get(User, token.user_id)
            agency_id = user.agency_id if user else None
        agency = session.get(Agency, agency_id) if agency_id else None
        audit_log.record(session, actor=actor, agency_code=agency.code if agency else "",
                         action="token.revoke", object=f"token:{token.id}")
    return token


# --- the use cases --------------------------------------------------------------------------

def create_user(svc: "Services", *, username: str, agency_code: str, roles: str | Iterable[str], full_name: str,
                position: str = "", password: str) -> int:
    """The new user's id."""
    with svc.uow(write=True) as uow:
        user = add_user(uow.session, username=username, agency_code=agency_code, roles=roles,
                        full_name=full_name, position=position, password=password)
        uow.commit()
    assert user.id is not None
    return user.id


def change_password(svc: "Services", username: str, password: str) -> None:
    with svc.uow(write=True) as uow:
        set_password(uow.session, username, password)
        uow.commit()


def change_active(svc: "Services", username: str, active: bool) -> None:
    """Deactivated users are refused everywhere at once: web sessions and tokens alike."""
    with svc.uow(write=True) as uow:
        set_active(uow.session, username, active)
        _forget_cached_tokens(svc, uow)
        uow.commit()


def change_roles(svc: "Services", username: str, roles: str | Iterable[str]) -> str:
    """The roles as stored (comma-separated)."""
    with svc.uow(write=True) as uow:
        user = set_roles(uow.session, username, roles)
        _forget_cached_tokens(svc, uow)
        uow.commit()
    return user.roles


def create_token(svc: "Services", *, username: str | None = None, agency_code: str | None = None,
                 name: str = "") -> tuple[int, str]:
    """A token for a user or an agency's system: ``(id, secret)``; the secret is shown once."""
    with svc.uow(write=True) as uow:
        if username is not None:
            token, secret = add_token(uow.session, user_id=get_user(uow.session, username).id, name=name)
        elif agency_code is not None:
            token, secret = add_token(uow.session, agency_id=directory.get_by_code(uow.session, agency_code).id,
                                      name=name)
        else:
            raise Unprocessable(_l("a token belongs to a user or an agency"),
                                fields={"owner": _l("give exactly one of user or agency")})
        uow.commit()
    assert token.id is not None
    return token.id, secret


def revoke_token(svc: "Services", token_id: int) -> None:
    with svc.uow(write=True) as uow:
        revoke(uow.session, token_id)
        _forget_cached_tokens(svc, uow)
        uow.commit()


def _forget_cached_tokens(svc: "Services", uow: "UnitOfWork") -> None:
    # now, so that no request re-caches the old state before the commit; and after it
    svc.token_cache.clear()
    uow.after_commit(svc.token_cache.clear)
