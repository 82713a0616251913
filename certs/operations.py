"""The PKI's changes and answers over the database, each in its own unit of work: what the
``flask pki`` commands and the ``/pki`` endpoints call (they open no session themselves)."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from certs import responders
from certs.ca import init_dev_pki
from certs.issuance import (
    import_pkcs12,
    issue_agency_seal,
    issue_person_credential,
    revoke,
)
from certs.models import Credential
from certs.ports import AgencyInfo, CredentialAudit, PersonInfo
from settings import Settings
from storage.db import UnitOfWork


def issue_for_person(engine: Engine, settings: Settings, username: str, person: PersonInfo, *,
                     image_png: bytes | None, audit: CredentialAudit | None) -> Credential:
    init_dev_pki(settings)
    with UnitOfWork(engine, write=True) as uow:
        row = issue_person_credential(uow.session, settings, username=username, full_name=person.full_name,
                                      position=person.position, agency_code=person.agency_code,
                                      agency_name=person.agency_name, image_png=image_png, audit=audit)
        uow.commit()
    return row


def issue_for_agency(engine: Engine, settings: Settings, agency: AgencyInfo, *, image_png: bytes | None,
                     audit: CredentialAudit | None) -> Credential:
    init_dev_pki(settings)
    with UnitOfWork(engine, write=True) as uow:
        row = issue_agency_seal(uow.session, settings, agency_code=agency.code, agency_name=agency.name,
                                image_png=image_png, audit=audit)
        uow.commit()
    return row


def revoke_serial(engine: Engine, settings: Settings, serial: str, reason: str, *,
                  audit: CredentialAudit | None) -> Credential:
    with UnitOfWork(engine, write=True) as uow:
        row = revoke(uow.session, settings, serial, reason, audit=audit)
        uow.commit()
    return row


def import_credential(engine: Engine, settings: Settings, *, data: bytes, password: bytes | None,
                      owner_kind: str, owner_ref: str, image_png: bytes | None,
                      audit: CredentialAudit | None) -> Credential:
    init_dev_pki(settings)
    with UnitOfWork(engine, write=True) as uow:
        row = import_pkcs12(uow.session, settings, data=data, password=password, owner_kind=owner_kind,
                            owner_ref=owner_ref, image_png=image_png, audit=audit)
        uow.commit()
    return row


def current_crl(engine: Engine, settings: Settings) -> bytes:
    with UnitOfWork(engine) as uow:
        return responders.current_crl(uow.session, settings)


def ocsp_answer(engine: Engine, settings: Settings, request: bytes) -> bytes:
    with UnitOfWork(engine) as uow:
        return responders.ocsp_response(uow.session, settings, request)
