"""What an agency's administrator does on the web pages (``/admin/…``), for the agency and
the agencies below it: users (create, roles, deactivate — its web sessions and tokens stop
at once), API tokens (create: the secret shown once; revoke), agencies (CSV import, merge)
and signing credentials (issue with the signature image, revoke). Each goes through the
session-level functions of ``exchange.services.accounts``, ``directory_import``,
``directory`` and ``certs.operations`` (which audit it), with the administrator as the
actor; an account, agency or credential outside the caller's scope is "not found"."""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable

from sqlmodel import Session, col, or_, select

from certs import images, operations
from certs.models import Credential
from errors import Forbidden, NotFound, Unprocessable
from exchange.adapters.certs_ports import ExchangeCredentialAudit
from exchange.domain.caller import Caller
from exchange.domain.times import api_time
from exchange.models import ApiToken, User
from exchange.services import accounts, directory, directory_import
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services


def _scope(session: Session, caller: Caller) -> dict[int, str]:
    """Agency id → code: the caller's agency and every one below it."""
    own = directory.get_by_code(session, caller.agency_code)
    agencies = [own, *directory.descendants(session, caller.agency_code)]
    return {a.id: a.code for a in agencies if a.id is not None}


def agency_codes(svc: "Services", caller: Caller) -> list[str]:
    with svc.uow() as uow:
        return list(_scope(uow.session, caller).values())


def _user_in_scope(session: Session, caller: Caller, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).one_or_none()
    if user is None or user.agency_id not in _scope(session, caller):
        raise NotFound(_l("no user %(username)s", username=username))
    return user


def users(svc: "Services", caller: Caller) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        scope = _scope(uow.session, caller)
        rows = uow.session.exec(select(User).where(col(User.agency_id).in_(list(scope)))
                                .order_by(col(User.username))).all()
        return [{"username": u.username, "full_name": u.full_name, "position": u.position,
                 "agency_code": scope[u.agency_id], "roles": [r for r in u.roles.split(",") if r],
                 "active": u.active} for u in rows]


def tokens(svc: "Services", caller: Caller) -> list[dict[str, Any]]:
    """The live tokens of the scope's users and agencies' systems (never their secrets)."""
    with svc.uow() as uow:
        scope = _scope(uow.session, caller)
        user_ids = {u.id: u.username for u in uow.session.exec(
            select(User).where(col(User.agency_id).in_(list(scope)))).all()}
        rows = uow.session.exec(select(ApiToken).where(
            col(ApiToken.revoked_at).is_(None),
            or_(col(ApiToken.agency_id).in_(list(scope)), col(ApiToken.user_id).in_(list(user_ids))))
            .order_by(col(ApiToken.id))).all()
        return [{"id": t.id, "name": t.name, "created_at": api_time(t.created_at),
                 "last_used_at": api_time(t.last_used_at) if t.last_used_at else None,
                 "owner": user_ids[t.user_id] if t.user_id is not None else scope[t.agency_id or 0]}
                for t in rows]


def create_user(svc: "Services", caller: Caller, *, username: str, agency_code: str, roles: Iterable[str],
                full_name: str, position: str, password: str) -> None:
    with svc.uow(write=True) as uow:
        if agency_code not in _scope(uow.session, caller).values():
            raise NotFound(_l("no agency with code %(code)s", code=agency_code))
        accounts.add_user(uow.session, username=username, agency_code=agency_code, roles=list(roles),
                          full_name=full_name, position=position, password=password, actor=caller.actor)
        uow.commit()


def set_roles(svc: "Services", caller: Caller, username: str, roles: Iterable[str]) -> None:
    with svc.uow(write=True) as uow:
        _user_in_scope(uow.session, caller, username)
        accounts.set_roles(uow.session, username, list(roles), actor=caller.actor)
        accounts._forget_cached_tokens(svc, uow)  # as the CLI's use cases do
        uow.commit()


def set_active(svc: "Services", caller: Caller, username: str, active: bool) -> None:
    """A deactivated user's web sessions end and its tokens stop now (``accounts.set_active``)."""
    with svc.uow(write=True) as uow:
        _user_in_scope(uow.session, caller, username)
        accounts.set_active(uow.session, username, active, actor=caller.actor)
        accounts._forget_cached_tokens(svc, uow)  # as the CLI's use cases do
        uow.commit()


def create_token(svc: "Services", caller: Caller, *, username: str, name: str) -> tuple[int, str]:
    """``(id, secret)``: the secret exists only in this answer (its SHA-256 is stored)."""
    with svc.uow(write=True) as uow:
        user = _user_in_scope(uow.session, caller, username)
        token, secret = accounts.add_token(uow.session, user_id=user.id, name=name, actor=caller.actor)
        uow.commit()
    assert token.id is not None
    return token.id, secret


def revoke_token(svc: "Services", caller: Caller, token_id: int) -> None:
    with svc.uow(write=True) as uow:
        token = uow.session.get(ApiToken, token_id)
        scope = _scope(uow.session, caller)
        owner = uow.session.get(User, token.user_id) if token and token.user_id is not None else None
        agency_id = owner.agency_id if owner else (token.agency_id if token else None)
        if token is None or agency_id not in scope:
            raise NotFound(_l("no token %(id)s", id=token_id))
        accounts.revoke(uow.session, token_id, actor=caller.actor)
        accounts._forget_cached_tokens(svc, uow)  # as the CLI's use cases do
        uow.commit()


# --- the agencies below the administrator's ----------------------------------------------------

def agencies(svc: "Services", caller: Caller) -> list[dict[str, Any]]:
    """The caller's agency and every one below it, as the directory shows them."""
    with svc.uow() as uow:
        own = directory.get_by_code(uow.session, caller.agency_code)
        return directory.agencies_view(uow.session, [own, *directory.descendants(uow.session, caller.agency_code)])


def _csv_codes(data: bytes) -> set[str]:
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        return {(row.get("code") or "").strip() for row in reader} - {""}
    except (UnicodeDecodeError, csv.Error):
        return set()  # the import names the problem


def import_agencies(svc: "Services", caller: Caller, data: bytes) -> directory_import.ImportResult:
    """The directory import (``directory_import.import_csv``: all or nothing, every bad row
    named), limited to agencies below the caller's: a row naming an agency outside it, or the
    caller's own, or placing one outside it, refuses the whole file (403) and writes nothing."""
    codes = _csv_codes(data)
    with svc.uow(write=True) as uow:
        before = set(_scope(uow.session, caller).values())
        existing = set(directory.find_by_codes(uow.session, codes))
        result = directory_import.import_csv(uow.session, io.BytesIO(data), actor=caller.actor)
        if not result.ok:
            return result
        after = set(_scope(uow.session, caller).values())
        outside = sorted(c for c in codes if c == caller.agency_code or c not in after
                         or (c in existing and c not in before))
        if outside:
            raise Forbidden(_l("only agencies below yours can be imported: %(codes)s", codes=", ".join(outside)),
                            fields={"file": _l("outside your agency: %(codes)s", codes=", ".join(outside))})
        uow.commit()
    return result


def merge_agencies(svc: "Services", caller: Caller, old_code: str, into_code: str, effective: date) -> None:
    """``directory.merge``, for two agencies below the caller's (another is "not found")."""
    with svc.uow(write=True) as uow:
        below = set(_scope(uow.session, caller).values()) - {caller.agency_code}
        for code in (old_code, into_code):
            if code not in below:
                raise NotFound(_l("no agency with code %(code)s", code=code))
        directory.merge(uow.session, old_code, into_code, effective, actor=caller.actor)
        uow.commit()


# --- signing credentials of the scope's people and agencies -------------------------------------

REVOCATION_REASONS = ("unspecified", "keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation")


def _owner_in_scope(session: Session, caller: Caller, owner_kind: str, owner_ref: str) -> bool:
    scope = _scope(session, caller)
    if owner_kind == "agency":
        return owner_ref in scope.values()
    user = session.exec(select(User).where(User.username == owner_ref)).one_or_none()
    return user is not None and user.agency_id in scope


def credentials(svc: "Services", caller: Caller) -> list[dict[str, Any]]:
    """The signing credentials of the scope's users and agencies (certificates, never keys)."""
    with svc.uow() as uow:
        scope = _scope(uow.session, caller)
        usernames = list(uow.session.exec(select(User.username).where(col(User.agency_id).in_(list(scope)))).all())
        rows = uow.session.exec(select(Credential).where(or_(
            (col(Credential.owner_kind) == "user") & col(Credential.owner_ref).in_(usernames),
            (col(Credential.owner_kind) == "agency") & col(Credential.owner_ref).in_(list(scope.values())),
        )).order_by(col(Credential.id))).all()
        return [{"id": c.id, "owner_kind": c.owner_kind, "owner": c.owner_ref, "serial": c.serial,
                 "subject": c.subject, "not_after": api_time(c.not_after), "has_image": c.image_png is not None,
                 "revoked_at": api_time(c.revoked_at) if c.revoked_at else None} for c in rows]


def _image(image_png: bytes | None) -> bytes | None:
    if not image_png:
        return None
    try:
        return images.check_png(image_png)
    except images.ImageError as exc:
        message = exc.args[0]
        raise Unprocessable(message, fields={"image": message}) from None


def issue_credential(svc: "Services", caller: Caller, *, username: str | None, agency_code: str | None,
                     image_png: bytes | None) -> int:
    """A person's signing credential or the agency's seal, from the development CA
    (``certs.operations``), with its signature or seal image (a PNG, checked); the id."""
    image = _image(image_png)
    audit = ExchangeCredentialAudit(actor=caller.actor)
    with svc.uow() as uow:
        if username:
            _user_in_scope(uow.session, caller, username)
        elif not agency_code or agency_code not in _scope(uow.session, caller).values():
            raise NotFound(_l("no agency with code %(code)s", code=agency_code or ""))
    try:
        if username:
            row = operations.issue_for_person(svc.engine, svc.settings, username, svc.directory.person(username),
                                              image_png=image, audit=audit)
        else:
            row = operations.issue_for_agency(svc.engine, svc.settings, svc.directory.agency(agency_code or ""),
                                              image_png=image, audit=audit)
    except ValueError as exc:  # the CA's refusal of a name (empty, too long)
        raise Unprocessable(exc.args[0]) from None
    assert row.id is not None
    return row.id


def revoke_credential(svc: "Services", caller: Caller, credential_id: int, reason: str) -> None:
    if reason not in REVOCATION_REASONS:
        raise Unprocessable(_l("invalid input"), fields={"reason": _l("unknown reason")})
    with svc.uow() as uow:
        row = uow.session.get(Credential, credential_id)
        if row is None or not _owner_in_scope(uow.session, caller, row.owner_kind, row.owner_ref):
            raise NotFound(_l("no credential %(id)s", id=credential_id))
        serial = row.serial
    operations.revoke_serial(svc.engine, svc.settings, serial, reason,
                             audit=ExchangeCredentialAudit(actor=caller.actor))
