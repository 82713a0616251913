"""What ``certs`` needs from the rest of the service, declared here and implemented by
``exchange`` (``exchange.adapters.certs_ports``): ``certs`` never imports ``exchange``.

- :class:`Directory`: who a username or an agency code is, for ``pki issue``.
- :class:`CredentialAudit`: where issuing, importing and revoking a credential is recorded,
  in the caller's transaction (the audit trail and its outbox).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

from sqlmodel import Session

DIRECTORY_KEY = "lienthong.directory"
CREDENTIAL_AUDIT_KEY = "lienthong.credential_audit"


class PersonInfo(NamedTuple):
    full_name: str
    position: str
    agency_code: str
    agency_name: str


class AgencyInfo(NamedTuple):
    code: str
    name: str


@runtime_checkable
class Directory(Protocol):
    def person(self, username: str) -> PersonInfo:
        """Raise ``LookupError`` for an unknown username."""
        ...

    def agency(self, code: str) -> AgencyInfo:
        """Raise ``LookupError`` for an unknown agency code."""
        ...


@runtime_checkable
class CredentialAudit(Protocol):
    def record(self, session: Session, *, action: str, owner_kind: str, owner_ref: str,
               details: dict[str, Any]) -> None:
        """Append the event in ``session``'s transaction (it commits with the change)."""
        ...
