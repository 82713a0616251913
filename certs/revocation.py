"""Our CA's current revocation state, read from the credential table: the in-process answer
``signing.revocation.RevocationLookup`` asks for (matched structurally: ``certs`` never
imports ``signing``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from certs.ca import DevPKI, serial_hex
from certs.models import Credential
from storage.db import UnitOfWork

# cryptography's RFC 4514 short names for what ``signing`` reports
_OIDS = {"CN": "2.5.4.3", "O": "2.5.4.10", "OU": "2.5.4.11", "L": "2.5.4.7", "ST": "2.5.4.8", "C": "2.5.4.6",
         "SERIALNUMBER": "2.5.4.5", "T": "2.5.4.12", "E": "1.2.840.113549.1.9.1", "UID": "0.9.2342.19200300.100.1.1",
         "STREET": "2.5.4.9", "GN": "2.5.4.42", "SN": "2.5.4.4"}


class CredentialRevocations:
    """Answers for certificates our issuing CA signed; None for every other issuer."""

    def __init__(self, engine: Engine, pki: DevPKI) -> None:
        self.engine = engine
        issuer = pki.issuing.subject
        self._issuer = tuple((attr.oid.dotted_string, str(attr.value)) for attr in issuer)
        self._issuer_text = issuer.rfc4514_string()

    def own_status(self, issuer: tuple[tuple[str, str], ...], serial: int) -> tuple[datetime | None, str | None] | None:
        if tuple((_OIDS.get(key, key), value) for key, value in issuer) != self._issuer:
            return None
        with UnitOfWork(self.engine) as uow:
            row = uow.session.exec(select(Credential).where(Credential.serial == serial_hex(serial),
                                                            Credential.issuer == self._issuer_text)).first()
        if row is None:
            return None  # issued by our CA but not a credential (TSA, OCSP responder): judged from the file
        return row.revoked_at, row.revocation_reason
