"""Attachments (phụ lục) of a document: added and removed while it is a draft, sealed with it,
read by whoever may read the document, verified with it.

- Any file type, each within the upload limit, stored once as a content-addressed blob (the
  same blob for every recipient: a dispatch copies nothing).
- Everything that can refuse an upload (the document's agency and state, the name, an empty
  file, a PDF the seal could not sign) is checked before a byte reaches the blob store; the
  state is checked again under the document's row lock in the write transaction.
- At sealing (``exchange.services.signatures``), :func:`seal_all` signs each attachment with
  the seal credential — a PDF gets a PAdES signature stamped at page 1's top right, any other
  file a detached CMS (.p7s) — outside any transaction, and :func:`record_sealed` stores the
  results in the seal's own transaction, refusing if the attachments changed meanwhile.
"""
from __future__ import annotations

import mimetypes
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import sqlalchemy as sa
from sqlmodel import Session, col, select

from certs.credentials import SigningCredential
from errors import Conflict, ErrorCode, NotFound, PayloadTooLarge, Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.lifecycle import CLOSED_TO_SIGNATURES
from exchange.models import Attachment, Dispatch, Document, utcnow
from exchange.services import audit
from exchange.services import signatures as signing_steps  # a module: signatures calls back into this one
from exchange.services.documents import Content, readable
from exchange.services.pdf_check import inspect_pdf
from exchange.services.views import attachment_view, attachments_of
from signing.report import Indication, worse
from storage.blobs import BlobRef, read_bytes
from translations import _l

# signing.attachments and signing.verify (pyHanko, fontTools) are imported by the functions
# that seal and verify: the ``flask`` commands reach this module and never do either.
if TYPE_CHECKING:
    from bootstrap import Services

NAME_MAX = 255  # the column's length
PDF_TYPE = "application/pdf"
DEFAULT_TYPE = "application/octet-stream"
SIGNATURE_TYPE = "application/pkcs7-signature"
VERSIONS = ("sealed", "original")


# --- names and types -----------------------------------------------------------------------

def clean_name(raw: str | None) -> str:
    """The user's own file name, kept in Unicode (NFC), without any folder part, control or
    invisible format characters (a right-to-left override can disguise ``fdp.exe`` as
    ``exe.pdf``), within the column's length (the extension kept)."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")).strip()
    if name.strip(".") == "":
        raise Unprocessable(_l("the file needs a name"), fields={"file": _l("a file name is required")})
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        keep = extension if dot and stem and len(extension) <= 16 else ""
        name = name[:NAME_MAX - len(keep) - (1 if keep else 0)].rstrip() + (f".{keep}" if keep else "")
    return name


def content_type_for(name: str, is_pdf: bool, declared: str | None) -> str:
    """PDF when the bytes say so (and only then: ``application/pdf`` is what the seal signs as
    a PDF); otherwise what the name's extension says, else what the client declared (if it
    looks like a media type), else ``application/octet-stream``."""
    if is_pdf:
        return PDF_TYPE
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    if guessed == PDF_TYPE:
        return DEFAULT_TYPE
    if guessed:
        return guessed
    declared = (declared or "").split(";", 1)[0].strip().lower()
    type_, slash, subtype = declared.partition("/")
    well_formed = slash and type_ and subtype and len(declared) <= 100 and all(
        ch.isalnum() or ch in "!#$&^_.+-/" for ch in declared)
    if well_formed and declared != PDF_TYPE:
        return declared
    return DEFAULT_TYPE


def looks_like_pdf(stream: IO[bytes]) -> bool:
    stream.seek(0)
    head = stream.read(1024)
    stream.seek(0)
    return b"%PDF-" in head


# --- who may change them -------------------------------------------------------------------

def _open_draft(session: Session, caller: Caller, document_id: int, *, lock: bool = False) -> Document:
    """The caller's agency's document, while it still takes attachments: not sealed, never
    sent (an unsigned "for information" dispatch also freezes what recipients were sent)."""
    document = signing_steps.own_document(session, caller, document_id, lock=lock)
    dispatched = session.execute(sa.select(col(Dispatch.id)).where(col(Dispatch.document_id) == document_id)
                                 .limit(1)).first() is not None
    if document.state in CLOSED_TO_SIGNATURES:
        raise Conflict(_l("the document is already %(state)s; its attachments can no longer change",
                          state=document.state), code=ErrorCode.DOCUMENT_CLOSED)
    if dispatched:
        raise Conflict(_l("the document has been sent; its attachments can no longer change"),
                       code=ErrorCode.DOCUMENT_CLOSED)
    return document


def _check_name_free(session: Session, document_id: int, name: str) -> None:
    taken = session.execute(sa.select(col(Attachment.name)).where(col(Attachment.document_id) == document_id)).all()
    if any(unicodedata.normalize("NFC", row[0]).casefold() == name.casefold() for row in taken):
        raise Conflict(_l("the document already has an attachment named %(name)s", name=name),
                       code=ErrorCode.ATTACHMENT_NAME_TAKEN, fields={"file": _l("choose another name")})


# --- adding, listing, removing -------------------------------------------------------------

def check_file(svc: "Services", stream: BinaryIO) -> bool:
    """Refuse an attachment's file for what it is (empty, too large, a PDF the seal could not
    sign), before anything is stored; whether it is a PDF. Leaves the stream at its start."""
    size = stream.seek(0, 2)
    stream.seek(0)
    if size == 0:
        raise Unprocessable(_l("the file is empty"), code=ErrorCode.EMPTY_FILE, fields={"file": _l("empty file")})
    if size > svc.settings.max_upload_mb * 1024 * 1024:
        raise PayloadTooLarge(_l("the file is larger than %(mb)s MB", mb=svc.settings.max_upload_mb))
    is_pdf = looks_like_pdf(stream)
    if is_pdf:  # the seal must be able to sign it later: refuse now, not at sealing time
        from signing.attachments import check_sealable

        inspect_pdf(stream)
        check_sealable(stream)
    stream.seek(0)
    return is_pdf


def add_attachment(svc: "Services", caller: Caller, document_id: int, stream: BinaryIO, filename: str | None,
                   declared_type: str | None = None) -> dict[str, Any]:
    """``POST /documents/{id}/attachments``: refuse what can be refused, store the file once,
    then the row and its audit event in one transaction."""
    name = clean_name(filename)
    with svc.uow() as uow:
        _open_draft(uow.session, caller, document_id)
        _check_name_free(uow.session, document_id, name)
    is_pdf = check_file(svc, stream)
    ref = svc.blobs.put(stream)
    with svc.uow(write=True) as uow:
        session = uow.session
        _open_draft(session, caller, document_id, lock=True)  # again: it may have been sealed meanwhile
        _check_name_free(session, document_id, name)
        row = Attachment(document_id=document_id, name=name, blob_sha256=ref.sha256, size=ref.size,
                         content_type=content_type_for(name, is_pdf, declared_type), created_by_id=caller.user_id)
        session.add(row)
        session.flush()
        audit.record(session, caller, "document.attachment.add", f"document:{document_id}",
                     {"attachment_id": row.id, "name": name, "sha256": ref.sha256, "size": ref.size})
        uow.commit()
        return attachment_view(row)


def list_attachments(svc: "Services", caller: Caller, document_id: int) -> dict[str, Any]:
    """The attachments of a document the caller may read (its agency's, or one it received)."""
    with svc.uow() as uow:
        readable(uow.session, caller, document_id)
        return {"items": attachments_of(uow.session, [document_id]).get(document_id, [])}


def delete_attachment(svc: "Services", caller: Caller, document_id: int, attachment_id: int) -> None:
    """``DELETE``: while the document is a draft. The blob stays (content-addressed, maybe shared)."""
    with svc.uow(write=True) as uow:
        session = uow.session
        _open_draft(session, caller, document_id, lock=True)
        row = _attachment(session, document_id, attachment_id)
        session.delete(row)
        audit.record(session, caller, "document.attachment.delete", f"document:{document_id}",
                     {"attachment_id": attachment_id, "name": row.name, "sha256": row.blob_sha256})
        uow.commit()


def _attachment(session: Session, document_id: int, attachment_id: int) -> Attachment:
    row = session.get(Attachment, attachment_id)
    if row is None or row.document_id != document_id:
        raise NotFound(_l("no such attachment"))
    return row


# --- reading ---------------------------------------------------------------------------------

def _readable_attachment(svc: "Services", caller: Caller, document_id: int, attachment_id: int) -> Attachment:
    """Only the issuing agency and the agencies holding a (not recalled) delivery read an
    attachment: ``readable`` answers 404 to anyone else, as for a missing document."""
    with svc.uow() as uow:
        readable(uow.session, caller, document_id)
        return _attachment(uow.session, document_id, attachment_id)


def attachment_content(svc: "Services", caller: Caller, document_id: int, attachment_id: int,
                       version: str | None = None) -> tuple[Content, str]:
    """The file and its media type: the sealed copy of a PDF once sealed (``version=original``
    for the bytes as uploaded, which the sealed copy begins with), the file itself otherwise."""
    row = _readable_attachment(svc, caller, document_id, attachment_id)
    if version not in (None, *VERSIONS):
        raise Unprocessable(_l("invalid version"), fields={"version": _l("sealed or original")})
    if row.sealed_sha256 and row.sealed_size is not None and version != "original":
        return Content(svc.blobs, row.sealed_sha256, row.sealed_size, row.name), row.content_type
    if version == "sealed":
        raise NotFound(_l("this attachment has no sealed copy"))
    return Content(svc.blobs, row.blob_sha256, row.size, row.name), row.content_type


def signature_content(svc: "Services", caller: Caller, document_id: int, attachment_id: int) -> Content:
    """The detached CMS signature (.p7s) the seal made of a non-PDF attachment."""
    row = _readable_attachment(svc, caller, document_id, attachment_id)
    if not row.signature_sha256 or row.signature_size is None:
        raise NotFound(_l("this attachment has no detached signature"))
    return Content(svc.blobs, row.signature_sha256, row.signature_size, f"{row.name}.p7s")


# --- sealing (called by exchange.services.signatures) ------------------------------------------

@dataclass(frozen=True)
class SealedAttachment:
    attachment_id: int
    original_sha256: str
    sealed: BlobRef | None  # a PDF's sealed copy
    signature: BlobRef | None  # another file's .p7s
    sealed_at: datetime


def seal_all(svc: "Services", document_id: int, credential: SigningCredential, level: str) -> list[SealedAttachment]:
    """Sign every attachment of the document with the seal credential, outside any transaction."""
    from signing.attachments import reference_line, seal_pdf, sign_detached

    with svc.uow() as uow:
        document = uow.session.get(Document, document_id)
        rows = list(uow.session.exec(select(Attachment).where(Attachment.document_id == document_id)
                                     .order_by(col(Attachment.id))).all())
    if document is None or not rows:
        return []
    reference = reference_line(document.number, document.notation)
    # one context for all: the seal's chain is checked (and its OCSP answer fetched) once, not
    # per attachment; used by this thread only, one signature after another
    context = svc.validation_context(for_signing=True)
    out = []
    for row in rows:
        assert row.id is not None
        sealed = signature = None
        with signing_steps.spooled_copy(svc.blobs, row.blob_sha256) as source, signing_steps.services_answering():
            if row.content_type == PDF_TYPE:
                with signing_steps.output_buffer() as output:
                    result = seal_pdf(source, credential, reference=reference, level=level,  # type: ignore[arg-type]  # a checked level string
                                      timestamper=svc.timestamper(),
                                      validation_context=context, output=output)
                    result.output.seek(0)
                    sealed = svc.blobs.put(result.output)
            else:
                p7s = sign_detached(source, credential, timestamper=svc.timestamper())
                with signing_steps.output_buffer() as output:
                    output.write(p7s)
                    output.seek(0)
                    signature = svc.blobs.put(output)
        out.append(SealedAttachment(row.id, row.blob_sha256, sealed, signature, utcnow()))
    return out


def record_sealed(session: Session, document_id: int, sealed: list[SealedAttachment]) -> None:
    """In the seal's write transaction (the document's row is locked): the attachments must be
    exactly those that were signed, else 409 and the seal is not recorded."""
    rows = {row.id: row for row in session.exec(select(Attachment).where(Attachment.document_id == document_id))}
    signed = {s.attachment_id: s for s in sealed}
    if set(rows) != set(signed) or any(rows[i].blob_sha256 != s.original_sha256 for i, s in signed.items()):
        raise Conflict(_l("the attachments changed while the document was being sealed; seal it again"),
                       code=ErrorCode.REVISION_CONFLICT)
    for attachment_id, result in signed.items():
        row = rows[attachment_id]
        if result.sealed is not None:
            row.sealed_sha256, row.sealed_size = result.sealed.sha256, result.sealed.size
        if result.signature is not None:
            row.signature_sha256, row.signature_size = result.signature.sha256, result.signature.size
        row.sealed_at = result.sealed_at
        session.add(row)


def refuse_remote_seal(session: Session, document_id: int) -> None:
    """A seal made with a key the service does not hold could not sign the attachments: a
    document with attachments is sealed on the server (409 until they are removed)."""
    if session.execute(sa.select(col(Attachment.id)).where(col(Attachment.document_id) == document_id)
                       .limit(1)).first() is not None:
        raise Conflict(_l("a document with attachments is sealed with the seal held by the service, which signs "
                          "its attachments too"), code=ErrorCode.KEY_NOT_HELD)


# --- verification ------------------------------------------------------------------------------

def verify_all(svc: "Services", caller: Caller, document_id: int) -> tuple[list[dict[str, Any]], Indication | None]:
    """Each attachment the caller may read, judged: a PDF's sealed copy like a main file, a
    .p7s against the file's bytes; an attachment the seal never signed has no signature.
    Returns the entries and the worst indication among them (None without attachments)."""
    from signing.attachments import verify_detached
    from signing.verify import verify

    with svc.uow() as uow:
        readable(uow.session, caller, document_id)
        rows = list(uow.session.exec(select(Attachment).where(Attachment.document_id == document_id)
                                     .order_by(col(Attachment.id))).all())
    entries: list[dict[str, Any]] = []
    overall: Indication | None = None
    for row in rows:
        entry: dict[str, Any] = {"id": row.id, "name": row.name, "content_type": row.content_type}
        if row.sealed_sha256:
            report = verify(read_bytes(svc.blobs, row.sealed_sha256), trust_roots=svc.trust.roots())
            entry.update(kind="pades", indication=report.indication, sub_indication=report.sub_indication,
                         report=report.to_json())
            indication = report.indication
        elif row.signature_sha256:
            with signing_steps.spooled_copy(svc.blobs, row.blob_sha256) as data:
                result = verify_detached(data, read_bytes(svc.blobs, row.signature_sha256),
                                         svc.validation_context())
            entry.update(kind="detached_cms", indication=result.indication, sub_indication=result.sub_indication,
                         signature=result.to_json())
            indication = result.indication
        else:
            entry.update(kind=None, indication="NO_SIGNATURE", sub_indication=None)
            indication = Indication.NO_SIGNATURE
        entries.append(entry)
        overall = indication if overall is None else worse(overall, indication)
    return entries, overall

