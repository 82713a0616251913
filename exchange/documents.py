"""Documents: upload (PDF + metadata), read, list — the issuer's side before signing.

Everything that can refuse an upload (metadata, reply-to, the file's form) is checked
before a byte reaches the blob store; then the blob is stored and the Document, its first
Revision and the audit event commit in one transaction. A failed commit leaves at most an
unreferenced, content-addressed blob: harmless, and never half a document.
"""
from __future__ import annotations

import json
import re
from typing import BinaryIO, Iterator

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlmodel import Session, select

from errors import NotFound, Unprocessable, UnsupportedMediaType
from exchange import audit
from exchange.auth import Caller
from exchange.models import Agency, Delivery, Dispatch, Document, Revision, utcnow
from exchange.schemas import SECRET_LEVELS, DocumentMetadataIn
from storage.blobs import BlobRef, BlobStore
from storage.db import session_scope

HEADER_WINDOW = 1024  # PDF 1.7 §7.5.2 readers accept the header within the first 1024 bytes
TAIL_WINDOW = 32 * 1024  # some producers leave padding or junk after the last %%EOF
TRAILER_SCAN_MAX = 16 * 1024 * 1024
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF")
_OBJ = re.compile(rb"\s*\d+\s+\d+\s+obj\b")


# --- the file -----------------------------------------------------------------------------

def inspect_pdf(stream: BinaryIO) -> int:
    """Check, without a PDF library, that ``stream`` is a complete, unencrypted PDF: the
    header, a final ``startxref``/``%%EOF`` pointing at a cross-reference section (or, if
    the offset is off, a classic trailer in the tail), and no ``/Encrypt`` in that trailer.
    Returns the size; leaves the stream at its start."""
    stream.seek(0)
    head = stream.read(HEADER_WINDOW)
    if b"%PDF-" not in head:
        raise UnsupportedMediaType("tệp không phải PDF / the file is not a PDF", code="not_pdf",
                                   fields={"file": "cần tệp PDF / a PDF is required"})
    size = stream.seek(0, 2)
    stream.seek(max(0, size - TAIL_WINDOW))
    tail = stream.read()
    matches = list(_STARTXREF.finditer(tail))
    damaged = Unprocessable("tệp PDF bị cắt cụt hoặc hỏng / the PDF is truncated or damaged",
                            code="pdf_damaged", fields={"file": "PDF không trọn vẹn / incomplete PDF"})
    if not matches:
        stream.seek(0)
        raise damaged
    offset = int(matches[-1].group(1))
    trailer = b""
    if offset < size:
        stream.seek(offset)
        trailer = _trailer_at(stream.read(min(size - offset, TRAILER_SCAN_MAX)))
    if not trailer:
        # Readers rebuild a file whose startxref is off (common after a careless rewrite);
        # accept it if the tail still holds a classic trailer dictionary.
        last_startxref = matches[-1].start()
        start = tail.rfind(b"trailer", 0, last_startxref)
        trailer = tail[start:last_startxref] if start >= 0 else b""
    stream.seek(0)
    if not trailer:
        raise damaged
    if b"/Encrypt" in trailer:
        raise Unprocessable("tệp PDF được mã hóa: hãy gửi bản không đặt mật khẩu / the PDF is encrypted; "
                            "send it without a password", code="pdf_encrypted",
                            fields={"file": "PDF có mật khẩu / encrypted PDF"})
    return size


def _trailer_at(section: bytes) -> bytes:
    """The trailer dictionary of the cross-reference section ``section`` starts with (a
    classic table), or the xref stream's own dictionary; empty if it starts with neither.
    Either names /Encrypt when the file is encrypted (in a linearised file the last
    startxref points at the first-page section, whose trailer carries /Encrypt as well)."""
    if section.startswith(b"xref"):
        start = section.find(b"trailer")
        end = section.find(b"startxref", start)
        return section[start:end] if start >= 0 else b""
    if _OBJ.match(section):
        end = section.find(b"stream")
        return section[:end] if end >= 0 else b""
    return b""


# --- metadata -----------------------------------------------------------------------------

def parse_metadata(raw: str | bytes | dict | None) -> dict:
    """The upload's ``metadata`` part, validated field by field (422 lists them all)."""
    if raw is None or raw == "":
        raise Unprocessable("thiếu metadata / metadata is missing",
                            fields={"metadata": "bắt buộc / required"})
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise Unprocessable("metadata không phải JSON / metadata is not JSON",
                                fields={"metadata": f"JSON không hợp lệ / invalid JSON: {exc}"}) from None
    if not isinstance(raw, dict):
        raise Unprocessable("metadata phải là một đối tượng JSON / metadata must be a JSON object",
                            fields={"metadata": "phải là đối tượng / must be an object"})
    try:
        data = DocumentMetadataIn().load(raw)
    except ValidationError as exc:
        fields = {f"metadata.{k}": "; ".join(map(str, v)) if isinstance(v, list) else str(v)
                  for k, v in exc.normalized_messages().items()}
        raise Unprocessable("metadata không hợp lệ / invalid metadata", fields=fields) from None
    return check_metadata_rules(data)


def check_metadata_rules(data: dict) -> dict:
    """The rules beyond field types: no secret documents, no due date before the issue date."""
    if data["confidentiality"] in SECRET_LEVELS:
        raise Unprocessable(
            "văn bản mật không được trao đổi qua hệ thống này / secret documents may not travel on this system",
            code="secret_refused",
            fields={"metadata.confidentiality": "chỉ nhận văn bản thường / only 'normal' is accepted"})
    if data["issued_on"] and data["due_on"] and data["due_on"] < data["issued_on"]:
        raise Unprocessable("hạn xử lý trước ngày ban hành / due date before issue date",
                            fields={"metadata.due_on": "phải sau ngày ban hành / must not precede issued_on"})
    return data


# --- who may read -------------------------------------------------------------------------

def _received_revision_ids(session: Session, caller: Caller, document_id: int) -> set[int]:
    """Revisions dispatched to the caller's agency (a recipient reads what it was sent)."""
    try:
        from exchange.inbox import caller_can_read
    except ImportError:  # no inbox yet: only the issuer reads
        return set()
    if not caller_can_read(session, caller, document_id):
        return set()
    rows = session.exec(
        select(Dispatch.revision_id).join(Delivery, Delivery.dispatch_id == Dispatch.id)  # type: ignore[arg-type]
        .where(Delivery.document_id == document_id, Delivery.recipient_agency_id == caller.agency_id)
    ).all()
    return set(rows)


def readable(session: Session, caller: Caller, document_id: int) -> tuple[Document, list[Revision]]:
    """The document and the revisions ``caller`` may read. Another agency's document is
    NotFound, exactly like a missing one: an agency never learns what others hold."""
    missing = NotFound("không có văn bản / no such document")
    document = session.get(Document, document_id)
    if document is None:
        raise missing
    revisions = list(session.exec(select(Revision).where(Revision.document_id == document_id)
                                  .order_by(Revision.seq)).all())
    if document.issuer_agency_id != caller.agency_id:
        allowed = _received_revision_ids(session, caller, document_id)
        revisions = [r for r in revisions if r.id in allowed]
        if not revisions:
            raise missing
    return document, revisions


def document_json(session: Session, document: Document, revisions: list[Revision]) -> dict:
    issuer = session.get(Agency, document.issuer_agency_id)
    base = f"/api/v1/documents/{document.id}/content"
    return {
        "id": document.id, "issuer": issuer.code if issuer else None,
        "number": document.number, "notation": document.notation, "doc_type": document.doc_type,
        "subject": document.subject, "urgency": document.urgency,
        "confidentiality": document.confidentiality,
        "issued_on": document.issued_on.isoformat() if document.issued_on else None,
        "place": document.place, "signer_name": document.signer_name,
        "signer_position": document.signer_position,
        "due_on": document.due_on.isoformat() if document.due_on else None,
        "reply_to": document.reply_to_id, "state": document.state,
        "sha256": revisions[-1].blob_sha256 if revisions else None,
        "created_at": audit.iso_utc(document.created_at),
        "revisions": [{
            "seq": r.seq, "sha256": r.blob_sha256, "size": r.size, "kind": r.kind,
            "profile": r.profile, "level": r.level, "created_at": audit.iso_utc(r.created_at),
            "content_url": f"{base}?revision={r.seq}",
        } for r in revisions],
    }


# --- services -----------------------------------------------------------------------------

def check_reply_to(session: Session, caller: Caller, reply_to: int | None) -> None:
    if reply_to is None:
        return
    try:
        readable(session, caller, reply_to)
    except NotFound:
        raise Unprocessable("văn bản được trả lời không có / the replied-to document does not exist",
                            fields={"metadata.reply_to": "không có văn bản này / unknown document"}) from None


def store_file(store: BlobStore, stream: BinaryIO) -> BlobRef:
    """Check the file is a usable PDF, then stream it into the blob store. Done outside any
    write transaction: a 200 MB upload must not hold the database's write lock."""
    inspect_pdf(stream)
    return store.put(stream)


def create_document(session: Session, caller: Caller, ref: BlobRef, metadata: dict) -> Document:
    """The Document, its original Revision and the audit event, in the caller's transaction.
    ``metadata`` comes from :func:`parse_metadata`; ``ref`` from :func:`store_file`."""
    check_reply_to(session, caller, metadata.get("reply_to"))
    document = Document(
        issuer_agency_id=caller.agency_id, created_by_id=caller.user_id,
        number=metadata["number"], notation=metadata["notation"], doc_type=metadata["doc_type"],
        subject=metadata["subject"], urgency=metadata["urgency"], confidentiality=metadata["confidentiality"],
        issued_on=metadata["issued_on"], place=metadata["place"], signer_name=metadata["signer_name"],
        signer_position=metadata["signer_position"], due_on=metadata["due_on"],
        reply_to_id=metadata.get("reply_to"), state="draft",
    )
    session.add(document)
    session.flush()
    session.add(Revision(document_id=document.id, seq=1, blob_sha256=ref.sha256, size=ref.size,  # type: ignore[arg-type]
                         kind="original", created_by_id=caller.user_id))
    audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="document.upload",
                 object=f"document:{document.id}", details={"sha256": ref.sha256, "size": ref.size})
    session.flush()
    return document


def upload(session: Session, store: BlobStore, caller: Caller, stream: BinaryIO, metadata: dict) -> Document:
    """Both steps in one call (tests, CLI, the demo)."""
    check_reply_to(session, caller, metadata.get("reply_to"))
    return create_document(session, caller, store_file(store, stream), metadata)


def pick_revision(revisions: list[Revision], seq: int | None) -> Revision:
    if seq is None:
        return revisions[-1]
    for revision in revisions:
        if revision.seq == seq:
            return revision
    raise NotFound(f"không có bản {seq} / no revision {seq}")


def list_documents(session: Session, caller: Caller, *, state: str | None, after: int,
                   limit: int) -> list[tuple[Document, list[Revision]]]:
    stmt = select(Document).where(Document.issuer_agency_id == caller.agency_id, Document.id > after)
    if state:
        stmt = stmt.where(Document.state == state)
    documents = list(session.exec(stmt.order_by(Document.id).limit(limit)).all())
    by_doc: dict[int, list[Revision]] = {d.id: [] for d in documents}  # type: ignore[misc]
    if by_doc:
        for revision in session.exec(select(Revision).where(Revision.document_id.in_(list(by_doc)))  # type: ignore[attr-defined]
                                     .order_by(Revision.seq)).all():
            by_doc[revision.document_id].append(revision)
    return [(d, by_doc[d.id]) for d in documents]  # type: ignore[index]


def iter_blob(store: BlobStore, sha256: str, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """The blob's bytes, hash-checked as they go (a corrupted blob stops the stream)."""
    with store.open(sha256) as reader:
        while True:
            data = reader.read(chunk)
            if not data:
                return
            yield data


def mark_fetched(engine, caller: Caller, document_id: int) -> int:  # type: ignore[no-untyped-def]
    """Record the first download of a document by a recipient agency (Delivery.fetched_at), so
    the sender sees that it was fetched. Later downloads cost one indexed read, no write."""
    unfetched = (Delivery.document_id == document_id, Delivery.recipient_agency_id == caller.agency_id,
                 Delivery.fetched_at.is_(None))  # type: ignore[union-attr]
    with engine.connect() as conn:
        if conn.execute(sa.select(Delivery.id).where(*unfetched).limit(1)).first() is None:
            return 0
    with session_scope(engine, write=True) as session:
        return session.execute(sa.update(Delivery).where(*unfetched).values(fetched_at=utcnow())).rowcount
