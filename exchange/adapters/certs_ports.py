"""The ports ``certs`` declares (``certs.ports``), over exchange's tables: who a username or
an agency code is, and where a credential's issue, import or revocation is recorded."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from certs.ports import AgencyInfo, PersonInfo
from exchange.adapters import audit_log
from exchange.domain.caller import CLI_ACTOR
from exchange.models import Agency, User
from storage.db import UnitOfWork


class ExchangeDirectory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def person(self, username: str) -> PersonInfo:
        with UnitOfWork(self._engine) as uow:
            row = uow.session.exec(select(User, Agency).join(Agency, col(Agency.id) == User.agency_id)
                                   .where(User.username == username)).first()
        if row is None:
            raise LookupError(f"no user {username}")
        user, agency = row
        return PersonInfo(user.full_name, user.position, agency.code, agency.name)

    def agency(self, code: str) -> AgencyInfo:
        with UnitOfWork(self._engine) as uow:
            agency = uow.session.exec(select(Agency).where(Agency.code == code)).one_or_none()
        if agency is None:
            raise LookupError(f"no agency {code}")
        return AgencyInfo(agency.code, agency.name)


class ExchangeCredentialAudit:
    """Credentials are recorded in the audit trail under the owner's agency."""

    def __init__(self, actor: str = CLI_ACTOR) -> None:
        self.actor = actor

    def record(self, session: Session, *, action: str, owner_kind: str, owner_ref: str,
               details: dict[str, Any]) -> None:
        agency: Agency | None
        if owner_kind == "user":
            row = session.exec(select(Agency).join(User, col(User.agency_id) == Agency.id)
                               .where(User.username == owner_ref)).first()
            agency = row
        else:
            agency = session.exec(select(Agency).where(Agency.code == owner_ref)).first()
        audit_log.record(session, actor=self.actor, agency_code=agency.code if agency else "", action=action,
                         object=f"{owner_kind}:{owner_ref}", details=details,
                         agency_ids=[agency.id] if agency and agency.id is not None else [])
