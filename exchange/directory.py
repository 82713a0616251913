"""``certs``' Directory over exchange's tables: who a username or an agency code is.

``certs`` never imports ``exchange``; it finds this object in
``app.extensions["lienthong.directory"]`` (for ``pki issue`` and the like).
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy.engine import Engine
from sqlmodel import select

from exchange.models import Agency, User
from storage.db import session_scope

try:
    from certs.directory import EXTENSION_KEY, AgencyInfo, PersonInfo
except ImportError:  # certs without a directory protocol: nothing to register
    EXTENSION_KEY = None  # type: ignore[assignment]


class ExchangeDirectory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def person(self, username: str) -> "PersonInfo":
        with session_scope(self._engine) as session:
            row = session.exec(select(User, Agency).join(Agency, Agency.id == User.agency_id)
                               .where(User.username == username)).first()
        if row is None:
            raise LookupError(f"no user {username}")
        user, agency = row
        return PersonInfo(user.full_name, user.position, agency.code, agency.name)

    def agency(self, code: str) -> "AgencyInfo":
        with session_scope(self._engine) as session:
            agency = session.exec(select(Agency).where(Agency.code == code)).one_or_none()
        if agency is None:
            raise LookupError(f"no agency {code}")
        return AgencyInfo(agency.code, agency.name)


def init_app(app: Flask) -> None:
    if EXTENSION_KEY is not None:
        app.extensions[EXTENSION_KEY] = ExchangeDirectory(app.extensions["lienthong.engine"])
