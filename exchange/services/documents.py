"""Documents: upload (PDF + metadata), read, list, download — the issuer's side before signing.

Everything that can refuse an upload (metadata, reply-to, the file's form) is checked
before a byte reaches the blob store; then the blob is stored and the Document, its first
Revision and the audit event commit in one transaction. A failed commit leaves at most an
unreferenced, content-addressed blob: harmless, and never half a document.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator

import sqlalchemy as sa
from marshmallow import Schema, ValidationError
from marshmallow.fields import Date
from marshmallow.validate import Length, OneOf, Range
from sqlmodel import Session, col, select

from errors import ErrorCode, NotFound, Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.enums import Confidentiality, DeliveryStatus, DocumentState, RevisionKind, Urgency, values
from exchange.models import Delivery, Dispatch, Document, Revision, utcnow
from exchange.services import audit
from exchange.services.input_rules import Integer, String, strict_json_loads
from exchange.services.pdf_check import inspect_pdf
from exchange.services.replacement import check_replaces
from exchange.services.register_numbers import upload_number_free
from exchange.services.views import document_view
from storage.blobs import BlobRef, BlobStore
from storage.db import execute_dml
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

CONTENT_CHUNK = 256 * 1024


class DocumentMetadataIn(Schema):
    """The ``metadata`` JSON part of an upload (the API shows it in the OpenAPI document)."""
    number = String(load_default="", validate=Length(0, 30))
    notation = String(load_default="", validate=Length(0, 100))
    doc_type = String(required=True, validate=Length(1, 100))
    subject = String(required=True, validate=Length(1, 2000))
    urgency = String(load_default=Urgency.NORMAL.value, validate=OneOf(values(Urgency)))
    confidentiality = String(load_default=Confidentiality.NORMAL.value, validate=OneOf(values(Confidentiality)))
    issued_on = Date(load_default=None, allow_none=True)
    place = String(load_default="", validate=Length(0, 255))
    signer_name = String(load_default="", validate=Length(0, 255))
    signer_position = String(load_default="", validate=Length(0, 255))
    due_on = Date(load_default=None, allow_none=True)
    reply_to = Integer(load_default=None, allow_none=True, validate=Range(min=1))
    replaces = Integer(load_default=None, allow_none=True, validate=Range(min=1),
                       metadata={"description": "id of this agency's dispatched document that this one replaces "
                                                "(edXML BussinessDocType 3)"})


# --- metadata -----------------------------------------------------------------------------

def parse_metadata(raw: str | bytes | dict[str, Any] | None) -> dict[str, Any]:
    """The upload's ``metadata`` part, validated field by field (422 lists them all)."""
    if raw is None or raw == "":
        raise Unprocessable(_l("metadata is missing"), fields={"metadata": _l("required")})
    if isinstance(raw, (str, bytes)):
        try:
            raw = strict_json_loads(raw)
        except ValueError as exc:
            raise Unprocessable(_l("metadata is not JSON"),
                                fields={"metadata": _l("invalid JSON: %(error)s", error=str(exc))}) from None
    if not isinstance(raw, dict):
        raise Unprocessable(_l("metadata must be a JSON object"),
                            fields={"metadata": _l("must be an object")})
    try:
        data = DocumentMetadataIn().load(raw)
    except ValidationError as exc:
        fields = {f"metadata.{k}": "; ".join(map(str, v)) if isinstance(v, list) else str(v)
                  for k, v in exc.normalized_messages().items()}
        raise Unprocessable(_l("invalid metadata"), fields=fields) from None
    return check_metadata_rules(data)


def check_metadata_rules(data: dict[str, Any]) -> dict[str, Any]:
    """The rules beyond field types: no secret documents, no due date before the issue date."""
    if not Confidentiality(data["confidentiality"]).may_travel:
        raise Unprocessable(
            _l("secret documents may not travel on this system"),
            code=ErrorCode.SECRET_REFUSED,
            fields={"metadata.confidentiality": _l("only 'normal' is accepted")})
    if data["issued_on"] and data["due_on"] and data["due_on"] < data["issued_on"]:
        raise Unprocessable(_l("due date before issue date"),
                            fields={"metadata.due_on": _l("must not precede issued_on")})
    return data


# --- who may read -------------------------------------------------------------------------

def caller_received(session: Session, caller: Caller, document_id: int) -> bool:
    """True when the caller's agency received this document (and it was not recalled from it)."""
    found = session.execute(
        sa.select(col(Delivery.id)).where(col(Delivery.document_id) == document_id,
                                          col(Delivery.recipient_agency_id) == caller.agency_id,
                                          col(Delivery.status) != DeliveryStatus.RECALLED).limit(1)
    ).first()
    return found is not None


def _received_revision_ids(session: Session, caller: Caller, document_id: int) -> set[int]:
    """Revisions dispatched to the caller's agency (a recipient reads what it was sent)."""
    if not caller_received(session, caller, document_id):
        return set()
    rows = session.exec(
        select(Dispatch.revision_id).join(Delivery, col(Delivery.dispatch_id) == Dispatch.id)
        .where(Delivery.document_id == document_id, Delivery.recipient_agency_id == caller.agency_id)
    ).all()
    return set(rows)


def readable(session: Session, caller: Caller, document_id: int) -> tuple[Document, list[Revision]]:
    """The document and the revisions ``caller`` may read. Another agency's document is
    NotFound, exactly like a missing one: an agency never learns what others hold."""
    missing = NotFound(_l("no such document"))
    document = session.get(Document, document_id)
    if document is None:
        raise missing
    revisions = list(session.exec(select(Revision).where(Revision.document_id == document_id)
                                  .order_by(col(Revision.seq))).all())
    if not document.is_issued_by(caller.agency_id):
        allowed = _received_revision_ids(session, caller, document_id)
        revisions = [r for r in revisions if r.id in allowed]
        if not revisions:
            raise missing
    return document, revisions


def check_reply_to(session: Session, caller: Caller, reply_to: int | None) -> None:
    if reply_to is None:
        return
    try:
        readable(session, caller, reply_to)
    except NotFound:
        raise Unprocessable(_l("the replied-to document does not exist"),
                            fields={"metadata.reply_to": _l("unknown document")}) from None


def pick_revision(revisions: list[Revision], seq: int | None) -> Revision:
    if seq is None:
        return revisions[-1]
    for revision in revisions:
        if revision.seq == seq:
            return revision
    raise NotFound(_l("no revision %(seq)s", seq=seq))


# --- upload -----------------------------------------------------------------------------

def create_document(session: Session, caller: Caller, ref: BlobRef, metadata: dict[str, Any], *,
                    state: DocumentState = DocumentState.DRAFT,
                    audit_details: dict[str, Any] | None = None) -> Document:
    """The Document, its original Revision and the audit event, in the caller's transaction.
    ``metadata`` comes from :func:`parse_metadata`; ``ref`` the stored file; ``state``
    is where the document enters the lifecycle (``sealed`` for a file signed elsewhere)."""
    check_reply_to(session, caller, metadata.get("reply_to"))
    check_replaces(session, caller, metadata.get("replaces"), lock=True)
    document = Document(
        issuer_agency_id=caller.agency_id, created_by_id=caller.user_id,
        number=metadata["number"], notation=metadata["notation"], doc_type=metadata["doc_type"],
        subject=metadata["subject"], urgency=metadata["urgency"], confidentiality=metadata["confidentiality"],
        issued_on=metadata["issued_on"], place=metadata["place"], signer_name=metadata["signer_name"],
        signer_position=metadata["signer_position"], due_on=metadata["due_on"],
        reply_to_id=metadata.get("reply_to"), replaces_id=metadata.get("replaces"), state=state,
    )
    session.add(document)
    session.flush()
    assert document.id is not None
    session.add(Revision(document_id=document.id, seq=1, blob_sha256=ref.sha256, size=ref.size,
                         kind=RevisionKind.ORIGINAL, created_by_id=caller.user_id))
    audit.record(session, caller, "document.upload", f"document:{document.id}",
                 {"sha256": ref.sha256, "size": ref.size, **(audit_details or {})})
    session.flush()
    return document


def upload(svc: "Services", caller: Caller, stream: BinaryIO, metadata: dict[str, Any], *,
           state: DocumentState = DocumentState.DRAFT,
           check: Callable[[BinaryIO], dict[str, Any]] | None = None) -> dict[str, Any]:
    """``POST /documents``: refuse what can be refused before storing a byte, store the file,
    then the document in one transaction. ``metadata``: validated fields (the API's schema,
    or :func:`parse_metadata`). ``check``, when given, judges the (usable) PDF before it is
    stored — it raises to refuse it, else returns details for the audit event."""
    metadata = check_metadata_rules(metadata)
    with svc.uow() as uow:
        check_reply_to(uow.session, caller, metadata.get("reply_to"))
        check_replaces(uow.session, caller, metadata.get("replaces"))
        upload_number_free(uow.session, caller.agency_id, metadata)
    inspect_pdf(stream)  # a usable PDF, before the check judges it and before a byte is stored
    details: dict[str, Any] | None = None
    if check is not None:
        details = check(stream)
        stream.seek(0)
    # outside any write transaction: a 200 MB upload must not hold the database's write lock
    ref = svc.blobs.put(stream)
    with svc.uow(write=True) as uow:
        document = create_document(uow.session, caller, ref, metadata, state=state, audit_details=details)
        uow.commit()
        assert document.id is not None
        document, revisions = readable(uow.session, caller, document.id)
        return document_view(uow.session, document, revisions)


# --- reading ----------------------------------------------------------------------------

def get_document(svc: "Services", caller: Caller, document_id: int) -> dict[str, Any]:
    with svc.uow() as uow:
        document, revisions = readable(uow.session, caller, document_id)
        return document_view(uow.session, document, revisions)


@dataclass(frozen=True)
class Content:
    """A revision's file, to be streamed: its bytes are hash-checked as they go."""
    store: BlobStore
    sha256: str
    size: int
    filename: str
    # a recipient's download: recorded (Delivery.fetched_at) once its last byte was sent
    on_delivered: Callable[[], object] | None = None

    def chunks(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The bytes ``start``..``stop`` (a Range), read through to the end of the blob before
        the last chunk is released: a corrupted blob's range breaks off, like its whole."""
        stop = self.size if stop is None else stop
        with self.store.open(self.sha256) as reader:
            offset, held = 0, b""
            while data := reader.read(CONTENT_CHUNK):
                low, high = max(start - offset, 0), min(stop - offset, len(data))
                offset += len(data)
                if low < high:
                    if held:
                        yield held
                    held = data[low:high]
            if held:  # the end of the blob was read: its hash checked
                yield held


def content(svc: "Services", caller: Caller, document_id: int, seq: int | None, *,
            record_fetch: bool = True) -> Content:
    """A revision the caller may read (the latest by default). A recipient's download is
    recorded for the sender to see by ``on_delivered``, once the whole file was sent, unless
    ``record_fetch`` is False (a browser's request from another site: nothing changes)."""
    with svc.uow() as uow:
        document, revisions = readable(uow.session, caller, document_id)
        revision = pick_revision(revisions, seq)
    on_delivered = (functools.partial(mark_fetched, svc, caller, document_id)
                    if record_fetch and not document.is_issued_by(caller.agency_id)
                    else None)
    return Content(svc.blobs, revision.blob_sha256, revision.size, f"document-{document_id}-r{revision.seq}.pdf",
                   on_delivered)


def mark_fetched(svc: "Services", caller: Caller, document_id: int) -> int:
    """Record the first download of a document by a recipient agency (Delivery.fetched_at), so
    the sender sees that it was fetched. Later downloads cost one indexed read, no write."""
    unfetched = (col(Delivery.document_id) == document_id, col(Delivery.recipient_agency_id) == caller.agency_id,
                 col(Delivery.fetched_at).is_(None))
    with svc.engine.connect() as conn:
        if conn.execute(sa.select(col(Delivery.id)).where(*unfetched).limit(1)).first() is None:
            return 0
    with svc.uow(write=True) as uow:
        count = execute_dml(uow.session, sa.update(Delivery).where(*unfetched).values(fetched_at=utcnow()))
        uow.commit()
    return int(count or 0)
