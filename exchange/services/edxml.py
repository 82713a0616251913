"""edXML (QCVN 102:2016) exchange with the national axis: export a dispatched document or a
delivery's status as a package, import one.

Import of a document package: the package is parsed safely (``exchange.edxml.parse``), its
From and To agencies must be in the directory and the caller's agency among To; the PDF and
the other files are checked and stored before the write transaction; then one unit of work
makes the document (issued by From, marked ``imported``: it never shows among From's own
documents), its revision and attachments, a dispatch from From and one delivery into the
caller's inbox (the next inbox ``seq``, like any dispatch), the package's record with its
envelope signature check, and the audit event. The same package imported again by the same
agency answers the first import. Import of a status package moves the caller's delivery (or,
for 13, the caller's dispatched document) through the delivery service's own steps.
"""
from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime, timezone
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from errors import Conflict, ErrorCode, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from exchange.domain.caller import CLI_ACTOR, Caller
from exchange.domain.enums import CallerKind, DeliveryStatus, DocumentState, RevisionKind, Role, Urgency
from exchange.domain.lifecycle import RECALL_STATES
from exchange.domain.times import api_time
from exchange.edxml.model import (DATE_FORMAT, PRIORITY_BY_URGENCY, URGENCY_BY_PRIORITY, BusinessType, DocumentPackage,
                                  Hop, Organ, Part, ResponseFor, Staff, StatusPackage, document_id)
from exchange.models import (Agency, Attachment, Delivery, Dispatch, Document, EdxmlPackage, Revision, StatusEvent,
                             User, utcnow)
from exchange.services import audit, delivery
from exchange.services import dispatch as dispatching
from exchange.services.attachments import clean_name, content_type_for
from exchange.services.pdf_check import inspect_pdf
from exchange.services.views import document_view, status_view
from storage.blobs import BlobRef, read_bytes
from storage.db import UnitOfWork
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

_RECALLING = frozenset({DeliveryStatus.RECALL_REQUESTED, DeliveryStatus.RECALLED})  # exported as a revoke (1)
_LIMITS = {"number": 30, "notation": 100, "doc_type": 100, "subject": 2000, "place": 255, "signer_name": 255,
           "signer_position": 255}


@dataclass(frozen=True)
class Exported:
    data: bytes
    filename: str


# --- export ------------------------------------------------------------------------------------

def _organ(agency: Agency) -> Organ:
    return Organ(organ_id=agency.code, name=agency.name, in_charge=agency.name)


def edxml_id_of(session: Session, document: Document) -> str:
    """The DocumentId the national axis knows the document by: the one it was imported
    with, else ``<issuer code>,<yyyy/MM/dd>,<number>/<notation>``."""
    imported = session.exec(select(EdxmlPackage.edxml_document_id)
                            .where(EdxmlPackage.document_id == document.id, EdxmlPackage.kind == "document")
                            .order_by(col(EdxmlPackage.id))).first()
    if imported:
        return imported
    issuer = session.get(Agency, document.issuer_agency_id)
    assert issuer is not None
    return document_id(issuer.code, document.issued_on, document.number or str(document.id), document.notation)


def _reference(document: Document) -> str:
    return f"{document.number}/{document.notation}" if document.notation else document.number


def export_document(svc: "Services", caller: Caller, doc_id: int) -> Exported:
    """The issuer's dispatched document as a package: header, trace (every hop, forwards
    included), business type (replace when it replaces one, revoke once it is recalled),
    the dispatched PDF and the attachments as recipients read them."""
    from exchange.edxml import build, parse  # lxml and signxml: where used (start time)
    with svc.uow() as uow:
        session = uow.session
        document = session.get(Document, doc_id)
        if document is None or document.issuer_agency_id != caller.agency_id or document.imported:
            raise NotFound(_l("no such document"))
        dispatches = list(session.exec(select(Dispatch).where(Dispatch.document_id == doc_id,
                                                               Dispatch.sender_agency_id == caller.agency_id,
                                                               col(Dispatch.forwarded_from_id).is_(None))
                                       .order_by(col(Dispatch.id))))
        if not dispatches:
            raise Conflict(_l("only a dispatched document can be exported"), code=ErrorCode.NOT_DISPATCHED)
        revision = session.get(Revision, dispatches[-1].revision_id)
        assert revision is not None
        rows = session.execute(sa.select(Delivery, Dispatch).join(Dispatch, col(Dispatch.id) == Delivery.dispatch_id)
                               .where(col(Delivery.document_id) == doc_id).order_by(col(Delivery.id))).all()
        own = [d for d, p in rows if p.sender_agency_id == caller.agency_id and p.forwarded_from_id is None]
        wanted = list(dict.fromkeys(d.recipient_agency_id for d in own))
        found = {a.id: a for start in range(0, len(wanted), 1000)
                 for a in session.exec(select(Agency).where(col(Agency.id).in_(wanted[start:start + 1000])))}
        recipients = [found[i] for i in wanted if i in found]
        hops: dict[tuple[str, str], None] = {}
        for d, _p in rows:
            for hop in json.loads(d.trace or "[]"):
                hops[(hop.get("agency", ""), hop.get("at") or "")] = None
        business, reason, replaces = BusinessType.NEW, "", tuple[str, ...]()
        if any(d.status in _RECALLING for d in own):
            business, reason = BusinessType.REVOKE, _last_recall_reason(session, own)
        elif document.replaces_id is not None:
            replaced = session.get(Document, document.replaces_id)
            assert replaced is not None
            business, replaces = BusinessType.REPLACE, (edxml_id_of(session, replaced),)
        response_for = None
        if document.reply_to_id is not None and (earlier := session.get(Document, document.reply_to_id)):
            response_for = _response_for(session, earlier)
        issuer = session.get(Agency, caller.agency_id)
        assert issuer is not None
        attachments = list(session.exec(select(Attachment).where(Attachment.document_id == doc_id)
                                        .order_by(col(Attachment.id))))
        user = session.get(User, caller.user_id) if caller.user_id else None
        edxml_id = edxml_id_of(session, document)
        files = [("document-%d.pdf" % doc_id, "application/pdf", revision.blob_sha256, revision.size)]
        files += [(a.name, a.content_type, a.sealed_sha256 or a.blob_sha256, a.sealed_size or a.size)
                  for a in attachments]
        header = dict(
            sender=_organ(issuer), recipients=tuple(_organ(a) for a in recipients), document_id=edxml_id,
            number=document.number, notation=document.notation, subject=document.subject, place=document.place,
            promulgation_date=document.issued_on, type_code="", type_name=document.doc_type,
            signer_position=document.signer_position, signer_name=document.signer_name,
            due_date=document.due_on, priority=PRIORITY_BY_URGENCY.get(document.urgency, 0),
            response_for=response_for,
            trace=tuple(Hop(agency, _stored_time(at)) for agency, at in hops if agency),
            business=business, business_reason=reason, replaces=replaces,
            staff=Staff(staff=user.full_name if user else caller.actor),
        )
    too_big = [name for name, _t, _s, size in files if size > parse.MAX_PART_BYTES]
    if too_big:
        raise PayloadTooLarge(_l("a file is too large for an edXML package (at most %(max)s bytes)",
                                 max=parse.MAX_PART_BYTES), code=ErrorCode.EDXML_TOO_LARGE)
    parts = tuple(Part(content_id=f"cid:{i}", name=name, content_type=ctype, description=name,
                       data=read_bytes(svc.blobs, sha))
                  for i, (name, ctype, sha, _size) in enumerate(files, start=1))
    data = build.build_document(DocumentPackage(parts=parts, **header))  # type: ignore[arg-type]  # fields checked by the dataclass
    return Exported(data, f"document-{doc_id}.edxml")


def _stored_time(value: str) -> datetime | None:
    """A hop's time as the trace stores it (``api_time``)."""
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _last_recall_reason(session: Session, deliveries: list[Delivery]) -> str:
    reason = session.exec(select(StatusEvent.reason).where(
        col(StatusEvent.delivery_id).in_([d.id for d in deliveries]),
        StatusEvent.status == DeliveryStatus.RECALL_REQUESTED).order_by(col(StatusEvent.id).desc())).first()
    return reason or ""


def export_status(svc: "Services", caller: Caller, delivery_id: int) -> Exported:
    """A delivery's current status as a status package: the recipient reports 01–06, 15, 16;
    the sender reports its recall request (13)."""
    from exchange.edxml import build  # lxml and signxml: where used (start time)
    with svc.uow() as uow:
        session = uow.session
        found = session.execute(sa.select(Delivery, Dispatch).join(Dispatch, col(Dispatch.id) == Delivery.dispatch_id)
                                .where(col(Delivery.id) == delivery_id)).first()
        if found is None:
            raise NotFound(_l("delivery not found"))
        copy, sent = found
        document = session.get(Document, copy.document_id)
        assert document is not None
        # an edXML import's From is another system's: it has no side of the copy here
        sender = None if document.imported and sent.forwarded_from_id is None else sent.sender_agency_id
        status = DeliveryStatus(copy.status)
        reporter = sender if status == DeliveryStatus.RECALL_REQUESTED else copy.recipient_agency_id
        if caller.agency_id not in (copy.recipient_agency_id, sender):
            raise NotFound(_l("delivery not found"))
        if caller.agency_id != reporter or status.edxml_code is None:
            raise Conflict(_l("your agency has no status of this delivery to report"),
                           code=ErrorCode.INVALID_TRANSITION)
        event = session.exec(select(StatusEvent).where(StatusEvent.delivery_id == delivery_id)
                             .order_by(col(StatusEvent.id).desc())).first()
        agency = session.get(Agency, caller.agency_id)
        assert agency is not None and event is not None
        package = StatusPackage(
            sender=_organ(agency), response_for=_response_for(session, document),
            status_code=status.edxml_code, description=event.reason, at=event.at,
            staff=Staff(staff=event.actor))
    return Exported(build.build_status(package), f"delivery-{delivery_id}-{status.edxml_code}.edxml")


# --- import ------------------------------------------------------------------------------------

def import_package(svc: "Services", caller: Caller, data: bytes) -> tuple[dict[str, Any], bool]:
    """``(answer, created)``: a document package lands in the caller's inbox, a status
    package moves a delivery. Everything refusable is refused before anything is written."""
    from exchange.edxml import parse  # lxml and signxml: where used (start time)
    package = parse.parse(data, max_bytes=min(svc.settings.max_upload_mb * 1024 * 1024, parse.MAX_PACKAGE_BYTES))
    sha256 = hashlib.sha256(data).hexdigest()
    if isinstance(package, StatusPackage):
        return _import_status(svc, caller, package, sha256), True
    return _import_document(svc, caller, package, sha256)


def import_file(svc: "Services", agency_code: str, path: Path) -> tuple[dict[str, Any], bool]:
    """``flask edxml import FILE --agency CODE``: the import as that agency's clerk at the
    command line (the audit trail names the operator ``cli``)."""
    limit = svc.settings.max_upload_mb * 1024 * 1024
    if path.stat().st_size > limit:
        raise PayloadTooLarge(_l("the edXML package is larger than %(max)s bytes", max=limit),
                              code=ErrorCode.EDXML_TOO_LARGE)
    with svc.uow() as uow:
        agency = uow.session.exec(select(Agency).where(Agency.code == agency_code)).first()
    if agency is None or agency.id is None:
        raise NotFound(_l("unknown agency code"))
    caller = Caller(CallerKind.USER, agency.id, agency.code, None, CLI_ACTOR, frozenset({Role.CLERK}), None)
    return import_package(svc, caller, path.read_bytes())


def _signature_view(row: EdxmlPackage) -> dict[str, Any]:
    """``reason`` is a translatable message: the HTTP layer and the CLI render it."""
    from exchange.edxml import envelope  # lxml and signxml: where used (start time)
    return {"state": row.signature_state, "reason": envelope.reason_message(row.signature_reason),
            "detail": row.signature_detail, "signer": row.signature_signer}


def _package_view(row: EdxmlPackage) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "document_id": row.edxml_document_id, "sender": row.sender_code,
            "business_type": row.business_type, "status_code": row.status_code,
            "envelope_signature": _signature_view(row), "imported_at": api_time(row.created_at)}


def _agencies(session: Session, codes: list[str]) -> dict[str, Agency]:
    return {a.code: a for a in session.exec(select(Agency).where(col(Agency.code).in_(codes)))}


def _record(session: Session, caller: Caller, kind: str, sha256: str, package: DocumentPackage | StatusPackage,
            edxml_document_id: str, **links: Any) -> EdxmlPackage:
    row = EdxmlPackage(kind=kind, sha256=sha256, edxml_document_id=edxml_document_id[:255],
                       sender_code=package.sender.organ_id[:35], agency_id=caller.agency_id,
                       signature_state=package.signature.state, signature_reason=package.signature.reason[:20],
                       signature_detail=package.signature.detail[:300], signature_signer=package.signature.signer[:300],
                       imported_by=caller.actor, **links)
    session.add(row)
    session.flush()
    return row


def _check_fields(package: DocumentPackage) -> dict[str, Any]:
    values = {"number": package.number, "notation": package.notation, "doc_type": package.type_name,
              "subject": package.subject or package.content, "place": package.place,
              "signer_name": package.signer_name,
              "signer_position": " ".join(p for p in (package.signer_competence, package.signer_position) if p)}
    fields: dict[str, Any] = {name: _l("at most %(max)s characters", max=_LIMITS[name])
                              for name, value in values.items() if len(value) > _LIMITS[name]}
    if not values["subject"]:
        fields["subject"] = _l("required")
    if fields:
        raise Unprocessable(_l("the edXML package is invalid"), code=ErrorCode.EDXML_INVALID, fields=fields)
    return values


def _main_pdf(package: DocumentPackage) -> tuple[Part, list[Part]]:
    for index, part in enumerate(package.parts):
        if part.data[:1024].lstrip().startswith(b"%PDF-"):
            return part, [p for i, p in enumerate(package.parts) if i != index]
    raise Unprocessable(_l("the edXML package carries no PDF document"), code=ErrorCode.EDXML_NO_PDF,
                        fields={"AttachmentEncoded": _l("types found: %(types)s",
                                                        types=", ".join(p.content_type or "?" for p in package.parts)
                                                        or "-")})


def _addressed(session: Session, caller: Caller, package: DocumentPackage) -> Agency:
    """The From agency; 422 when From or a To is not in the directory, 403 when the caller's
    agency is not among To."""
    codes = [package.sender.organ_id, *(r.organ_id for r in package.recipients)]
    found = _agencies(session, codes)
    if package.sender.organ_id not in found:
        raise Unprocessable(_l("an agency of the edXML package is not in the directory"),
                            code=ErrorCode.EDXML_UNKNOWN_AGENCY,
                            fields={"From": _l("unknown: %(codes)s", codes=package.sender.organ_id)})
    unknown = [r.organ_id for r in package.recipients if r.organ_id not in found]
    if unknown:
        raise Unprocessable(_l("an agency of the edXML package is not in the directory"),
                            code=ErrorCode.EDXML_UNKNOWN_AGENCY,
                            fields={"To": _l("unknown: %(codes)s", codes=", ".join(unknown[:20]))})
    if caller.agency_code not in {r.organ_id for r in package.recipients}:
        raise Forbidden(_l("your agency is not among the package's recipients (To)"),
                        code=ErrorCode.EDXML_NOT_ADDRESSED)
    if package.sender.organ_id == caller.agency_code:
        raise Unprocessable(_l("cannot send to your own agency"), code=ErrorCode.EDXML_INVALID,
                            fields={"From": _l("the sender itself")})
    return found[package.sender.organ_id]


def _response_for(session: Session, document: Document) -> ResponseFor:
    """How a package names ``document``: its issuer, reference, date and DocumentId."""
    issuer = session.get(Agency, document.issuer_agency_id)
    return ResponseFor(organ_id=issuer.code if issuer else "", code=_reference(document),
                       promulgation_date=document.issued_on.strftime(DATE_FORMAT) if document.issued_on else "",
                       document_id=edxml_id_of(session, document))


def _find_document(session: Session, edxml_document_id: str, agency_id: int | None = None) -> Document | None:
    """The document a package names: one imported with that DocumentId (into ``agency_id``'s
    inbox, when given), else one of ours whose DocumentId that is."""
    stmt = select(EdxmlPackage.document_id).where(EdxmlPackage.edxml_document_id == edxml_document_id,
                                                  EdxmlPackage.kind == "document",
                                                  col(EdxmlPackage.document_id).is_not(None))
    if agency_id is not None:
        stmt = stmt.where(EdxmlPackage.agency_id == agency_id)
    imported = session.exec(stmt.order_by(col(EdxmlPackage.id).desc())).first()
    if imported is not None:
        return session.get(Document, imported)
    organ_id, _, rest = edxml_document_id.partition(",")
    day, _, reference = rest.partition(",")
    number, _, notation = reference.partition("/")
    issuer = session.exec(select(Agency).where(Agency.code == organ_id)).first()
    if issuer is None or not number:
        return None
    for candidate in session.exec(select(Document).where(Document.issuer_agency_id == issuer.id,
                                                         Document.number == number, Document.notation == notation,
                                                         col(Document.imported).is_(False))):
        if edxml_id_of(session, candidate) == edxml_document_id:
            return candidate
    return None


def _import_document(svc: "Services", caller: Caller, package: DocumentPackage,
                     sha256: str) -> tuple[dict[str, Any], bool]:
    if package.business == BusinessType.UPDATE:
        raise Unprocessable(_l("edXML updates (BussinessDocType 2) are not applied: send a replacement (3)"),
                            code=ErrorCode.EDXML_UNSUPPORTED, fields={"BussinessDocType": "2"})
    values = _check_fields(package)
    key = f"edxml:{sha256}:{caller.agency_id}"
    with svc.uow() as uow:
        _addressed(uow.session, caller, package)
        # the same package again answers its first import before any part is stored a second time
        existing = None if package.business == BusinessType.REVOKE else _existing(uow.session, caller, key)
    if existing is not None:
        return existing, False
    if package.business == BusinessType.REVOKE:
        return _revoke(svc, caller, package, sha256), True
    main, others = _main_pdf(package)
    inspect_pdf(io.BytesIO(main.data))
    refs = [svc.blobs.put(io.BytesIO(main.data))] + [svc.blobs.put(io.BytesIO(p.data)) for p in others]

    def body(uow: UnitOfWork) -> dict[str, Any]:
        return _create_import(uow, svc, caller, package, sha256, values, main, others, refs, key)

    try:
        with svc.uow(write=True) as uow:
            existing = _existing(uow.session, caller, key)
            if existing is not None:
                return existing, False
            answer = body(uow)
            uow.commit()
            return answer, True
    except sa.exc.IntegrityError:
        with svc.uow() as uow:
            existing = _existing(uow.session, caller, key)
        if existing is None:
            raise
        return existing, False


def _existing(session: Session, caller: Caller, key: str) -> dict[str, Any] | None:
    """The first import of the same package by the same agency."""
    found = session.exec(select(Dispatch).where(Dispatch.idempotency_key == key)).first()
    if found is None:
        return None
    row = session.exec(select(EdxmlPackage).where(EdxmlPackage.document_id == found.document_id,
                                                  EdxmlPackage.agency_id == caller.agency_id)).first()
    copy = session.exec(select(Delivery).where(Delivery.dispatch_id == found.id)).first()
    assert row is not None and copy is not None
    return _answer(session, caller, row, copy)


def _answer(session: Session, caller: Caller, row: EdxmlPackage, copy: Delivery | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"edxml": _package_view(row)}
    if copy is not None:
        answer["delivery"] = {**status_view(copy), "seq": copy.seq, "trace": json.loads(copy.trace or "[]")}
    if row.document_id is not None and copy is not None and copy.recipient_agency_id == caller.agency_id:
        document = session.get(Document, row.document_id)
        assert document is not None
        revisions = list(session.exec(select(Revision).where(Revision.document_id == document.id)
                                      .order_by(col(Revision.seq))))
        answer["document"] = document_view(session, document, revisions)
    return answer


def _create_import(uow: UnitOfWork, svc: "Services", caller: Caller, package: DocumentPackage, sha256: str,
                   values: dict[str, Any], main: Part, others: list[Part], refs: list[BlobRef],
                   key: str) -> dict[str, Any]:
    session = uow.session
    sender = _addressed(session, caller, package)
    assert sender.id is not None
    replaces = None
    if package.business == BusinessType.REPLACE:
        for replaced_id in package.replaces:
            replaced = _find_document(session, replaced_id, caller.agency_id)
            if replaced is not None and replaced.issuer_agency_id == sender.id:
                taken = session.exec(select(Document.id).where(Document.replaces_id == replaced.id)).first()
                replaces = None if taken is not None else replaced.id
                break
    reply_to = None
    if package.response_for is not None and package.response_for.document_id:
        earlier = _find_document(session, package.response_for.document_id)
        if earlier is not None and _may_read(session, caller, earlier):
            reply_to = earlier.id
    now = utcnow()
    document = Document(
        issuer_agency_id=sender.id, created_by_id=None, number=values["number"], notation=values["notation"],
        doc_type=values["doc_type"], subject=values["subject"],
        urgency=URGENCY_BY_PRIORITY.get(package.priority, Urgency.NORMAL), issued_on=package.promulgation_date,
        place=values["place"], signer_name=values["signer_name"], signer_position=values["signer_position"],
        due_on=package.due_date, reply_to_id=reply_to, replaces_id=replaces, state=DocumentState.SENT,
        imported=True, created_at=now, updated_at=now)
    session.add(document)
    session.flush()
    assert document.id is not None
    revision = Revision(document_id=document.id, seq=1, blob_sha256=refs[0].sha256, size=refs[0].size,
                        kind=RevisionKind.ORIGINAL, created_by_id=caller.user_id, created_at=now)
    session.add(revision)
    names: set[str] = set()
    for part, ref in zip(others, refs[1:], strict=True):
        name = clean_name(part.name or part.content_id.removeprefix("cid:") or "attachment")
        while name in names:  # the package may carry two files of one name: the attachment names stay unique
            name = f"_{name}"
        names.add(name)
        session.add(Attachment(document_id=document.id, name=name, blob_sha256=ref.sha256, size=ref.size,
                               content_type=content_type_for(name, part.data.startswith(b"%PDF-"), part.content_type),
                               created_by_id=caller.user_id, created_at=now))
    session.flush()
    assert revision.id is not None
    as_sender = Caller(CallerKind.AGENCY, sender.id, sender.code, caller.user_id, caller.username, frozenset(), None)
    trace = [{"agency": hop.organ_id, "at": api_time(hop.at)} for hop in package.trace]
    trace.append({"agency": caller.agency_code, "at": api_time(now), "via": "edxml",
                  "envelope_signature": package.signature.state})
    target = dispatching.Target(caller.agency_id, caller.agency_code, caller.agency_id, caller.agency_code)
    view = dispatching._create(uow, svc, as_sender, document_id=document.id, revision_id=revision.id,
                               targets=[target], key=key, fingerprint=sha256, forwarded_from=None, trace=trace)
    copy = session.get(Delivery, view["deliveries"][0]["id"])
    assert copy is not None
    row = _record(session, caller, "document", sha256, package, package.document_id,
                  business_type=int(package.business), document_id=document.id, delivery_id=copy.id)
    audit.record(session, caller, "edxml.import", f"document:{document.id}",
                 {"dispatch_id": view["id"], "delivery_id": copy.id, "sha256": sha256, "from": sender.code,
                  "edxml_document_id": package.document_id, "business_type": int(package.business),
                  "envelope_signature": package.signature.state, "replaces": replaces,
                  "files": [r.sha256 for r in refs]})
    return _answer(session, caller, row, copy)


def _may_read(session: Session, caller: Caller, document: Document) -> bool:
    if document.issuer_agency_id == caller.agency_id and not document.imported:
        return True
    return session.exec(select(Delivery.id).where(Delivery.document_id == document.id,
                                                  Delivery.recipient_agency_id == caller.agency_id)).first() is not None


def _imported_copy(session: Session, caller: Caller, edxml_document_id: str, *, lock: bool = False) -> Delivery:
    """The caller's delivery of the document a package names, or 422 ``edxml_unknown_document``."""
    document = _find_document(session, edxml_document_id, caller.agency_id) or _find_document(session,
                                                                                             edxml_document_id)
    found = None
    if document is not None:
        stmt = (select(Delivery).where(Delivery.document_id == document.id,
                                       Delivery.recipient_agency_id == caller.agency_id)
                .order_by(col(Delivery.id).desc()))
        found = session.exec(stmt.with_for_update() if lock else stmt).first()
    if found is None:
        raise Unprocessable(_l("your agency holds no delivery of the document the package names"),
                            code=ErrorCode.EDXML_UNKNOWN_DOCUMENT, fields={"DocumentId": edxml_document_id[:255]})
    return found


def _revoke(svc: "Services", caller: Caller, package: DocumentPackage, sha256: str) -> dict[str, Any]:
    """BussinessDocType 1 (thu hồi): the sender asks back the copy imported earlier — 13, and
    15 at once when it was never acknowledged (the delivery service's own steps)."""
    reason = (package.business_reason or "")[:1000]
    with svc.uow(write=True) as uow:
        session = uow.session
        copy = _imported_copy(session, caller, package.document_id, lock=True)
        if copy.status in RECALL_STATES or copy.status == DeliveryStatus.RETURNED:
            raise Conflict(_l("nothing left to recall"), code=ErrorCode.INVALID_TRANSITION)
        delivery.add_event(session, copy, DeliveryStatus.RECALL_REQUESTED, f"edxml:{package.sender.organ_id}",
                           reason)
        recalled = copy.acked_at is None
        if recalled:
            delivery.add_event(session, copy, DeliveryStatus.RECALLED, f"edxml:{package.sender.organ_id}", reason)
        session.flush()
        row = _record(session, caller, "document", sha256, package, package.document_id,
                      business_type=int(package.business), delivery_id=copy.id)
        audit.record(session, caller, "edxml.import", f"delivery:{copy.id}",
                     {"sha256": sha256, "from": package.sender.organ_id, "business_type": int(package.business),
                      "edxml_document_id": package.document_id, "envelope_signature": package.signature.state,
                      "recall": {"reason": reason, "recalled": [copy.id] if recalled else [],
                                 "pending": [] if recalled else [copy.id]}})
        answer = _answer(session, caller, row, copy)
        uow.commit()
    return answer


def _import_status(svc: "Services", caller: Caller, package: StatusPackage, sha256: str) -> dict[str, Any]:
    """The status the caller's agency reports (it must be the package's From): 01 ack, 02–06
    a recipient's move, 15/16 its recall decision, 13 the sender's recall request."""
    if package.sender.organ_id != caller.agency_code:
        raise Forbidden(_l("a status package is imported by the agency that reports it (From)"),
                        code=ErrorCode.EDXML_NOT_ADDRESSED)
    status = package.status
    reason = package.description[:1000]
    with svc.uow(write=True) as uow:
        session = uow.session
        if status == DeliveryStatus.RECALL_REQUESTED:
            document = _find_document(session, package.response_for.document_id)
            if document is None:
                raise Unprocessable(_l("your agency holds no delivery of the document the package names"),
                                    code=ErrorCode.EDXML_UNKNOWN_DOCUMENT,
                                    fields={"DocumentId": package.response_for.document_id[:255]})
            assert document.id is not None
            moved: dict[str, Any] = delivery._request_recall(session, caller, document.id, reason)
            row = _record(session, caller, "status", sha256, package, package.response_for.document_id,
                          status_code=package.status_code, document_id=document.id)
        else:
            copy = _imported_copy(session, caller, package.response_for.document_id)
            assert copy.id is not None
            if status == DeliveryStatus.DELIVERED:
                moved = delivery._acknowledge(session, svc, caller, copy.id)
            elif status in (DeliveryStatus.RECALLED, DeliveryStatus.RECALL_REFUSED):
                moved = delivery._decide_recall(session, caller, copy.id, status == DeliveryStatus.RECALLED, reason)
            else:
                moved = delivery._change_status(session, caller, copy.id, status, reason)
            row = _record(session, caller, "status", sha256, package, package.response_for.document_id,
                          status_code=package.status_code, document_id=copy.document_id, delivery_id=copy.id)
        audit.record(session, caller, "edxml.status_import", f"edxml:{row.id}",
                     {"sha256": sha256, "status_code": package.status_code,
                      "edxml_document_id": package.response_for.document_id,
                      "envelope_signature": package.signature.state})
        answer = {"edxml": _package_view(row), "result": moved}
        uow.commit()
    return answer

