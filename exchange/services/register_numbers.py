"""The numbers of the registers: which are taken, the next one, and whether a document is
registered. Plain queries and the counter, inside the caller's transaction; no other service
is imported here, so that documents, signatures, delivery and registers can all use them.

The next number comes from the gapless counter ``outgoing:YYYY`` / ``incoming:YYYY``
(``exchange.adapters.counters``): the counter row stays locked until the transaction ends,
so concurrent registrations of one agency get consecutive numbers in commit order, and a
rollback gives the number back. A number the clerk chose (outgoing only) is not drawn from
the counter: the counter then skips it when it reaches it. The unique constraint
``(agency, register, year, number)`` is the database's own word on a race.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from errors import Conflict, ErrorCode
from exchange.adapters import counters
from exchange.domain.enums import DocumentState, Register
from exchange.domain.times import vn_year
from exchange.models import Document, RegisterEntry, utcnow
from exchange.domain.numbers import whole_number
from translations import _l

SKIP_MAX = 10_000  # numbers the clerk chose ahead of the counter: at most this many skipped in a row


def counter_name(register: Register, year: int) -> str:
    return f"{register.value}:{year}"


def is_taken(session: Session, agency_id: int, register: Register, year: int, number: int) -> bool:
    found = session.execute(sa.select(col(RegisterEntry.id)).where(
        col(RegisterEntry.agency_id) == agency_id, col(RegisterEntry.kind) == register.value,
        col(RegisterEntry.year) == year, col(RegisterEntry.number) == number).limit(1)).first()
    return found is not None


def number_taken(number: int, year: int) -> Conflict:
    return Conflict(_l("number %(number)s is already used in %(year)s", number=number, year=year),
                    code=ErrorCode.NUMBER_TAKEN, fields={"number": _l("already in the register")})


def check_free(session: Session, agency_id: int, register: Register, year: int, number: int) -> None:
    if is_taken(session, agency_id, register, year, number):
        raise number_taken(number, year)


def add_entry(session: Session, entry: RegisterEntry) -> RegisterEntry:
    """Insert ``entry`` (its number already chosen) in a savepoint: a number taken meanwhile
    by another transaction is 409 ``number_taken``, and the caller's transaction goes on."""
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except sa.exc.IntegrityError:
        raise number_taken(entry.number, entry.year) from None
    return entry


def add_next_entry(session: Session, entry: RegisterEntry) -> RegisterEntry:
    """Give ``entry`` the register's next free number (the counter, skipping numbers the
    clerk chose by hand) and insert it."""
    register = Register(entry.kind)
    for _ in range(SKIP_MAX):
        entry.number = counters.bump_one(session, counter_name(register, entry.year), entry.agency_id)
        if not is_taken(session, entry.agency_id, register, entry.year, entry.number):
            return add_entry(session, entry)
    raise Conflict(_l("no free number left in the register"), code=ErrorCode.NUMBER_TAKEN)


def outgoing_entry(session: Session, document_id: int) -> RegisterEntry | None:
    return session.exec(select(RegisterEntry).where(RegisterEntry.document_id == document_id,
                                                    RegisterEntry.kind == Register.OUTGOING.value)).first()


def require_registered(session: Session, document_id: int) -> None:
    """Decree 30 Art. 14–18: the agency seal comes after the number (409 ``not_registered``).
    A draft is left to the seal rule itself, whose answer says what is missing first: the
    official's signature (``seal_refused``)."""
    document = session.get(Document, document_id)
    if document is not None and document.state != DocumentState.DRAFT and outgoing_entry(session, document_id) is None:
        raise Conflict(_l("register the document (give it its number) before sealing it"),
                       code=ErrorCode.NOT_REGISTERED)


def upload_number_free(session: Session, agency_id: int, metadata: dict[str, Any]) -> None:
    """At upload, a number typed in the metadata must be free in the issuer's outgoing
    register of its year (the issue date's, else this year): 409 ``number_taken``."""
    typed = whole_number(str(metadata.get("number") or "").strip())
    if typed is None:
        return
    issued: date | None = metadata.get("issued_on")
    year = issued.year if issued else vn_year(utcnow())
    check_free(session, agency_id, Register.OUTGOING, year, typed)
