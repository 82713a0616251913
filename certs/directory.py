"""Who a username or an agency code is, as ``pki issue`` needs to know.

``exchange`` implements ``Directory`` over its tables and registers it as
``app.extensions["lienthong.directory"]``; ``certs`` never imports ``exchange``.
"""
from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

EXTENSION_KEY = "lienthong.directory"


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
