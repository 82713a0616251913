"""The registers (Decree 30/2020 Art. 15–16, 22): numbering outgoing documents (cấp số), the
số đến of accepted deliveries and of paper documents that came by post, and the registers
themselves as rows (``register_export`` prints them as CSV and PDF).

Outgoing, one write transaction: the number (the clerk's, or the register's next under the
counter's lock), the number and date written onto page 1 (``signing.clerk_marks``, an
annotation update the seal then covers), the new revision, the register entry, ``issued_on``,
the audit event. Holding the counter's row lock while page 1 is written (~0.1 s) is what
keeps the numbers gapless: a failure anywhere rolls the number back with everything else.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO
from zoneinfo import ZoneInfo

from marshmallow import Schema
from marshmallow.fields import Date
from marshmallow.validate import Length, Range
from sqlmodel import Session, col, select

from errors import Conflict, ErrorCode, Forbidden, Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.enums import DocumentState, Register, RevisionKind, Role
from exchange.domain.times import api_date, api_time
from exchange.models import Agency, Delivery, Dispatch, Document, RegisterEntry, Revision, utcnow
from exchange.services import audit
from exchange.services.documents import readable
from exchange.services.input_rules import Integer, String
from exchange.services.register_numbers import (add_entry, add_next_entry, check_free, outgoing_entry)
from exchange.services.replacement import replaced_by_map
from exchange.services.signatures import latest_revision, output_buffer, own_document, spooled_copy
from exchange.services.views import document_view
from translations import _l

# signing.clerk_marks (pypdfium2, pyHanko) is imported by the functions that number: the
# ``flask`` commands reach this module through the API's blueprints and never number.
if TYPE_CHECKING:
    from bootstrap import Services
    from signing.clerk_marks import MarksResult

NUMBER_MAX = 999_999
VN_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class PaperDocumentIn(Schema):
    """A paper document that came by post, registered in the incoming register."""
    author = String(required=True, validate=Length(1, 255), metadata={"description": "tác giả: the issuing agency"})
    reference = String(load_default="", validate=Length(0, 140), metadata={"description": "số, ký hiệu: 12/UBND-VP"})
    document_date = Date(load_default=None, allow_none=True, metadata={"description": "ngày văn bản"})
    doc_type = String(required=True, validate=Length(1, 100))
    subject = String(required=True, validate=Length(1, 2000), metadata={"description": "trích yếu"})
    handler = String(load_default="", validate=Length(0, 255), metadata={"description": "đơn vị, người nhận"})
    due_on = Date(load_default=None, allow_none=True, metadata={"description": "hạn giải quyết"})
    copies = Integer(load_default=None, allow_none=True, validate=Range(1, 10_000))
    note = String(load_default="", validate=Length(0, 1000))


def _require_clerk(caller: Caller) -> None:
    """Registers are kept by the clerk, or by the agency's own system (its document
    management software) with the agency's token, as for dispatching and accepting."""
    if caller.is_user and Role.CLERK not in caller.roles:
        raise Forbidden(_l("only a clerk registers documents"))


def _vn_date(at: datetime) -> date:
    """The date in Vietnam (Asia/Ho_Chi_Minh): registers restart there on 1 January."""
    return at.astimezone(VN_ZONE).date()


# --- outgoing: cấp số -------------------------------------------------------------------

def register_outgoing(svc: "Services", caller: Caller, document_id: int, number: int | None = None
                      ) -> dict[str, Any]:
    """``POST /documents/{id}/register``: number a person-signed document of the caller's
    agency, write the number and date onto page 1, set ``issued_on``."""
    _require_clerk(caller)
    with svc.uow(write=True) as uow:
        session = uow.session
        document = own_document(session, caller, document_id, lock=True)
        assert document.id is not None
        if outgoing_entry(session, document.id) is not None:
            raise Conflict(_l("the document is already registered"), code=ErrorCode.ALREADY_REGISTERED)
        if document.state != DocumentState.SIGNED:
            raise Conflict(_l("only a document signed by the official is registered (it is %(state)s)",
                              state=document.state), code=ErrorCode.NOT_SIGNED)
        now = utcnow()
        today = _vn_date(now)
        agency = session.get(Agency, caller.agency_id)
        assert agency is not None
        entry = RegisterEntry(agency_id=caller.agency_id, kind=Register.OUTGOING.value, year=today.year,
                              number=0, document_id=document.id, author=agency.name, document_date=today,
                              doc_type=document.doc_type, subject=document.subject, signer=document.signer_name,
                              registered_at=now, registered_by=caller.actor)
        # a number typed at upload was only checked there: the register's number replaces it
        # unless the clerk names one now (a typed draft number is not a registration)
        if number is not None:
            check_free(session, caller.agency_id, Register.OUTGOING, today.year, number)
            entry.number = number
            add_entry(session, entry)
        else:
            add_next_entry(session, entry)
        from signing.clerk_marks import format_number

        number_text = format_number(entry.number)
        entry.reference = f"{number_text}/{document.notation}" if document.notation else number_text
        marks = _write_on_page(session, svc, caller, document, number_text, today)
        document.number, document.issued_on, document.updated_at = number_text, today, now
        session.add(document)
        session.add(entry)
        session.flush()
        audit.record(session, caller, "document.register", f"document:{document.id}",
                     {"number": entry.number, "year": entry.year, "reference": entry.reference,
                      "issued_on": today.isoformat(), "number_written": marks.number_written,
                      "date_written": marks.date_written})
        uow.commit()
        document, revisions = readable(session, caller, document.id)
        body = document_view(session, document, revisions)
    return {**body, "register": {**entry_summary(entry), "number_written": marks.number_written,
                                 "date_written": marks.date_written}}


def _write_on_page(session: Session, svc: "Services", caller: Caller, document: Document, number_text: str,
                   today: date) -> MarksResult:
    """The number and date on page 1, as a new revision (none when the letter leaves no room)."""
    from signing.clerk_marks import write_marks

    assert document.id is not None
    latest = latest_revision(session, document.id)
    with spooled_copy(svc.blobs, latest.blob_sha256) as source, output_buffer() as output:
        marks = write_marks(source, output, number_text=number_text, notation=document.notation, issued_on=today)
        if not (marks.number_written or marks.date_written):
            return marks
        output.seek(0)
        ref = svc.blobs.put(output)
    session.add(Revision(document_id=document.id, seq=latest.seq + 1, blob_sha256=ref.sha256, size=ref.size,
                         kind=RevisionKind.NUMBERED, created_by_id=caller.user_id))
    return marks


# --- incoming: số đến -------------------------------------------------------------------

def register_delivery(session: Session, caller: Caller, delivery: Delivery) -> RegisterEntry:
    """The số đến of a delivery being accepted (03), in the caller's transaction: the next
    number of the incoming register, shared with paper documents."""
    now = utcnow()
    row = session.exec(
        select(Document, Agency).join(Agency, col(Agency.id) == Document.issuer_agency_id)
        .where(Document.id == delivery.document_id)).one()
    document, issuer = row
    reference = f"{document.number}/{document.notation}" if document.number and document.notation else (
        document.number or document.notation)
    entry = RegisterEntry(agency_id=caller.agency_id, kind=Register.INCOMING.value, year=_vn_date(now).year,
                          number=0, document_id=document.id, delivery_id=delivery.id, author=issuer.name,
                          reference=reference, document_date=document.issued_on, doc_type=document.doc_type,
                          subject=document.subject, signer=document.signer_name, due_on=document.due_on,
                          registered_at=now, registered_by=caller.actor)
    if delivery.incoming_number is not None and delivery.incoming_year is not None:
        # acked before numbers moved to acceptance: that ack already drew its number
        entry.number, entry.year = delivery.incoming_number, delivery.incoming_year
        add_entry(session, entry)
    else:
        add_next_entry(session, entry)
    delivery.incoming_number, delivery.incoming_year = entry.number, entry.year
    return entry


def register_paper(svc: "Services", caller: Caller, data: dict[str, Any], scan: BinaryIO | None = None
                   ) -> dict[str, Any]:
    """``POST /registers/incoming``: a paper document that came by post takes the next số
    đến of the same series as electronic ones; its scan (any file), if given, is a blob."""
    _require_clerk(caller)
    if data.get("document_date") and data.get("due_on") and data["due_on"] < data["document_date"]:
        raise Unprocessable(_l("due date before issue date"), fields={"due_on": _l("must not precede document_date")})
    scan_ref = svc.blobs.put(scan) if scan is not None else None
    with svc.uow(write=True) as uow:
        now = utcnow()
        entry = RegisterEntry(agency_id=caller.agency_id, kind=Register.INCOMING.value, year=_vn_date(now).year,
                              number=0, author=data["author"], reference=data["reference"],
                              document_date=data["document_date"], doc_type=data["doc_type"],
                              subject=data["subject"], handler=data["handler"], due_on=data["due_on"],
                              copies=data["copies"], note=data["note"],
                              scan_sha256=scan_ref.sha256 if scan_ref else None,
                              registered_at=now, registered_by=caller.actor)
        add_next_entry(uow.session, entry)
        audit.record(uow.session, caller, "register.paper", f"register:{entry.id}",
                     {"register": "incoming", "year": entry.year, "number": entry.number,
                      "scan_sha256": entry.scan_sha256})
        uow.commit()
        return entry_view(entry, recipients=[], status=None)


# --- reading ----------------------------------------------------------------------------

def entry_summary(entry: RegisterEntry) -> dict[str, Any]:
    return {"register": entry.kind, "year": entry.year, "number": entry.number,
            "registered_at": api_time(entry.registered_at)}


def entry_view(entry: RegisterEntry, *, recipients: list[str], status: str | None,
               replaced_by: int | None = None) -> dict[str, Any]:
    """One line of a register, with the columns Decree 30 lists (DOMAIN.md (e)); ``replaced_by``:
    the dispatched document that replaces this one (edXML BussinessDocType 3)."""
    view = {
        **entry_summary(entry),
        "registered_on": api_date(_vn_date(entry.registered_at)),  # ngày đến / ngày đăng ký, Vietnam time
        "registered_by": entry.registered_by,
        "document": {"id": entry.document_id, "paper": entry.document_id is None, "author": entry.author,
                     "reference": entry.reference, "document_date": api_date(entry.document_date),
                     "doc_type": entry.doc_type, "subject": entry.subject, "signer": entry.signer,
                     "scan_sha256": entry.scan_sha256, "replaced_by": replaced_by},
        "handler": entry.handler, "copies": entry.copies, "due_on": api_date(entry.due_on), "note": entry.note,
    }
    if entry.kind == Register.OUTGOING:
        view["recipients"] = recipients
    else:
        view["delivery_id"] = entry.delivery_id
        view["status"] = status
    return view


def register_rows(svc: "Services", caller: Caller, register: str, year: int, start: date | None = None,
                  end: date | None = None) -> dict[str, Any]:
    """The caller's agency's register for ``year`` (by number), optionally only the lines
    registered between ``start`` and ``end`` (Vietnam dates, both included)."""
    kind = Register(register)
    if start and end and end < start:
        raise Unprocessable(_l("the end of the period precedes its start"), fields={"to": _l("must not precede from")})
    with svc.uow() as uow:
        session = uow.session
        stmt = select(RegisterEntry).where(RegisterEntry.agency_id == caller.agency_id,
                                           RegisterEntry.kind == kind.value, RegisterEntry.year == year)
        if start:
            stmt = stmt.where(col(RegisterEntry.registered_at) >= _vn_midnight(start))
        if end:
            stmt = stmt.where(col(RegisterEntry.registered_at) < _vn_midnight(end + timedelta(days=1)))
        entries = list(session.exec(stmt.order_by(col(RegisterEntry.number))).all())
        recipients = _recipients(session, caller, entries) if kind == Register.OUTGOING else {}
        statuses = _statuses(session, entries) if kind == Register.INCOMING else {}
        replaced = replaced_by_map(session, [e.document_id for e in entries if e.document_id is not None])
        agency = session.get(Agency, caller.agency_id)
        items = [entry_view(e, recipients=recipients.get(e.document_id or 0, []),
                            status=statuses.get(e.delivery_id or 0),
                            replaced_by=replaced.get(e.document_id) if e.document_id else None) for e in entries]
    return {"register": kind.value, "year": year, "agency": {"code": caller.agency_code,
                                                              "name": agency.name if agency else ""},
            "from": api_date(start), "to": api_date(end), "items": items}


def _vn_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VN_ZONE)


def _recipients(session: Session, caller: Caller, entries: list[RegisterEntry]) -> dict[int, list[str]]:
    """Nơi nhận: the agencies each document was dispatched to by the caller's agency."""
    ids = [e.document_id for e in entries if e.document_id is not None]
    if not ids:
        return {}
    rows = session.exec(
        select(Delivery.document_id, Agency.name).join(Dispatch, col(Dispatch.id) == Delivery.dispatch_id)
        .join(Agency, col(Agency.id) == Delivery.addressed_agency_id)
        .where(col(Delivery.document_id).in_(ids), Dispatch.sender_agency_id == caller.agency_id,
               col(Dispatch.forwarded_from_id).is_(None))
        .order_by(col(Delivery.id))).all()
    out: dict[int, list[str]] = {}
    for document_id, name in rows:
        names = out.setdefault(document_id, [])
        if name not in names:
            names.append(name)
    return out


def _statuses(session: Session, entries: list[RegisterEntry]) -> dict[int, str]:
    ids = [e.delivery_id for e in entries if e.delivery_id is not None]
    if not ids:
        return {}
    rows = session.exec(select(Delivery.id, Delivery.status).where(col(Delivery.id).in_(ids))).all()
    return {i: str(s) for i, s in rows if i is not None}
