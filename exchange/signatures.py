"""Signing a stored document: server-side (the caller's credential) and remote (two steps).

Each signature is three steps, so that the slow part holds no database lock:
1. read (no write lock): who may sign, which credential, the base revision;
2. sign outside any transaction, streaming the result into the blob store;
3. one write transaction: the base revision must still be the latest (else 409: two
   signers racing on one document must not fork the revision chain), then the new
   Revision, the document's state and the audit event commit together.
A refused or failed signature leaves at most an unreferenced, content-addressed blob.

Our own CA's OCSP/CRL and TSA are answered in-process (``certs.local``): a worker that
signs must never wait on an HTTP call to itself.
"""
from __future__ import annotations

import base64
import binascii
import json
import secrets
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Callable, Iterator

import sqlalchemy as sa
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, RevokedError
from sqlmodel import Session, select

from certs.ca import serial_hex
from certs.credentials import SigningCredential
from certs.issuance import CredentialNotFound, CredentialRevoked, load_signing_credential
from certs.local import local_timestamper, validation_context
from certs.models import Credential
from errors import Conflict, Forbidden, NotFound, ServiceError, Unprocessable
from exchange import audit
from exchange.auth import Caller
from exchange.documents import readable
from exchange.models import Agency, Document, Revision, SigningSession, User, utcnow
from settings import Settings
from signing.remote import complete, load_certificate, prepare
from signing.sign import is_person_certificate, run_sync, sign, signing_failure, subject_attributes
from storage.blobs import BlobRef, BlobStore
from storage.db import session_scope

SERVER_KEY_STORES = ("pkcs12", "pkcs11")  # others (a certificate of an official's own token) sign remotely
PROFILE_ROLE = {"person": "signer", "seal": "clerk"}
NEXT_STATE = {"person": "signed", "seal": "sealed"}
CLOSED_STATES = ("sealed", "sent")  # after the seal the document is final: no more signatures
EXPIRED_KEPT = timedelta(days=1)  # how long an expired remote-signing session still answers 410
SPOOL_MAX = 16 * 1024 * 1024  # documents above this spill to a temporary file while signing


class Gone(ServiceError):
    status, code = 410, "session_expired"


@dataclass(frozen=True)
class Base:
    """The revision a signature builds on: checked again inside the write transaction."""
    document_id: int
    seq: int
    sha256: str


@dataclass(frozen=True)
class Signed:
    document: Document
    revision: Revision


# --- reading --------------------------------------------------------------------------

def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


def check_role(caller: Caller, profile: str) -> None:
    """A person signature needs ``signer``; the agency seal needs ``clerk``."""
    if caller.kind != "user" or PROFILE_ROLE[profile] not in caller.roles:
        raise Forbidden(f"cần vai trò {PROFILE_ROLE[profile]} để ký loại '{profile}' / "
                        f"the '{PROFILE_ROLE[profile]}' role is needed for a {profile} signature")


def own_document(session: Session, caller: Caller, document_id: int, *, lock: bool = False) -> Document:
    """The caller's agency's document (another agency's is 404, exactly like a missing one)."""
    stmt = select(Document).where(Document.id == document_id)
    if lock:
        stmt = stmt.with_for_update()
    document = session.exec(stmt).first()
    if document is None or document.issuer_agency_id != caller.agency_id:
        raise NotFound("không có văn bản / no such document")
    return document


def latest_revision(session: Session, document_id: int) -> Revision:
    revision = session.exec(select(Revision).where(Revision.document_id == document_id)
                            .order_by(Revision.seq.desc()).limit(1)).first()  # type: ignore[attr-defined]
    if revision is None:  # a document is always created with its first revision
        raise NotFound("văn bản chưa có tệp / the document has no file")
    return revision


def signable_base(session: Session, caller: Caller, document_id: int) -> Base:
    document = own_document(session, caller, document_id)
    if document.state in CLOSED_STATES:
        raise Conflict(f"văn bản đã ở trạng thái '{document.state}', không ký thêm được / "
                       f"the document is already {document.state}; it takes no further signature",
                       code="document_closed")
    revision = latest_revision(session, document_id)
    return Base(document_id, revision.seq, revision.blob_sha256)


def pick_credential(session: Session, caller: Caller, profile: str, credential_id: int | None) -> Credential:
    """The caller's own credential: person → the user's (newest valid unless named); seal →
    the agency's. Someone else's credential id is 404: nobody learns which ids exist."""
    owner_kind, owner_ref = ("user", caller.username) if profile == "person" else ("agency", caller.agency_code)
    if credential_id is not None:
        row = session.get(Credential, credential_id)
        if row is None or row.owner_kind != owner_kind or row.owner_ref != owner_ref:
            raise NotFound("không có chứng thư số này / no such credential",
                           code="credential_not_found", fields={"credential_id": "không thuộc về bạn / not yours"})
        if row.key_store not in SERVER_KEY_STORES:
            raise Conflict("khóa của chứng thư số này không nằm trên máy chủ: hãy ký từ xa / this credential's key "
                           "is not held by the service; use remote signing", code="key_not_held",
                           fields={"credential_id": "remote signing only"})
        return row
    rows = session.exec(select(Credential).where(Credential.owner_kind == owner_kind,
                                                 Credential.owner_ref == owner_ref,
                                                 Credential.key_store.in_(SERVER_KEY_STORES))  # type: ignore[attr-defined]
                        .order_by(Credential.created_at.desc(), Credential.id.desc())).all()  # type: ignore[union-attr]
    now = utcnow()
    for row in rows:
        if row.revoked_at is None and _aware(row.not_before) <= now < _aware(row.not_after):
            return row
    what = "người ký" if profile == "person" else "cơ quan"
    if rows:
        raise Conflict(f"chứng thư số của {what} đã bị thu hồi hoặc hết hạn / the {profile} credential is "
                       "revoked or expired", code="credential_revoked")
    raise Conflict(f"{what} chưa có chứng thư số / no {profile} credential has been issued",
                   code="no_credential")


def load_credential(session: Session, settings: Settings, row: Credential) -> SigningCredential:
    try:
        return load_signing_credential(session, settings, row.id)  # type: ignore[arg-type]
    except CredentialRevoked as exc:
        raise Conflict(f"chứng thư số đã bị thu hồi hoặc hết hạn / the credential is revoked or expired ({exc})",
                       code="credential_revoked") from None
    except CredentialNotFound:
        raise NotFound("không có chứng thư số này / no such credential", code="credential_not_found") from None


def spooled_copy(store: BlobStore, sha256: str) -> IO[bytes]:
    """The blob as a seekable stream (pyHanko seeks; an S3 reader does not)."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
    with store.open(sha256) as reader:
        while chunk := reader.read(1 << 20):
            out.write(chunk)
    out.seek(0)
    return out  # type: ignore[return-value]


def output_buffer() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX, mode="w+b")  # type: ignore[return-value]


@contextmanager
def services_answering() -> Iterator[None]:
    """pyHanko lets a TSA that does not answer escape as its own error type (not a
    SigningError): that is our dependency being down, 503, not a 500."""
    try:
        yield
    except (TimestampRequestError, OSError) as exc:
        raise signing_failure(exc) from exc


# --- writing --------------------------------------------------------------------------

def record_signature(session: Session, caller: Caller, base: Base, ref: BlobRef, *, profile: str, level: str,
                     credential_id: int | None, action: str, details: dict | None = None) -> Signed:
    """Step 3, in the caller's write transaction: append the revision on top of ``base``."""
    document = own_document(session, caller, base.document_id, lock=True)
    latest = latest_revision(session, base.document_id)
    if latest.seq != base.seq or document.state in CLOSED_STATES:
        raise Conflict("văn bản vừa được ký bởi người khác, hãy tải lại và ký lại / the document changed while "
                       "it was being signed; reload it and sign again", code="revision_conflict")
    revision = Revision(document_id=base.document_id, seq=base.seq + 1, blob_sha256=ref.sha256, size=ref.size,
                        kind="signed", profile=profile, level=level, credential_id=credential_id,
                        created_by_id=caller.user_id)
    session.add(revision)
    try:
        session.flush()
    except sa.exc.IntegrityError:  # (document_id, seq) is unique: the database's own word on a race
        raise Conflict("văn bản vừa được ký bởi người khác / the document changed while it was being signed",
                       code="revision_conflict") from None
    if profile == "seal" or document.state == "draft":
        document.state = NEXT_STATE[profile]
    document.updated_at = utcnow()
    session.add(document)
    audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action=action,
                 object=f"document:{base.document_id}",
                 details={"seq": base.seq + 1, "sha256": ref.sha256, "size": ref.size, "profile": profile,
                          "level": level, "credential_id": credential_id, **(details or {})})
    return Signed(document, revision)


def sign_document(engine: sa.Engine, store: BlobStore, settings: Settings, caller: Caller, document_id: int, *,
                  profile: str, level: str, credential_id: int | None = None, appearance=None,  # type: ignore[no-untyped-def]
                  timestamper=None, validation_context_factory: Callable | None = None) -> Signed:  # type: ignore[type-arg]
    """A server-side signature with the caller's own credential; returns the new revision."""

    check_role(caller, profile)
    with session_scope(engine) as session:
        base = signable_base(session, caller, document_id)
        row = pick_credential(session, caller, profile, credential_id)
        credential = load_credential(session, settings, row)
        used_id = row.id
    vc = (validation_context_factory or (lambda: validation_context(settings, for_signing=True)))()
    with spooled_copy(store, base.sha256) as source, output_buffer() as output:
        with services_answering():
            result = sign(source, credential, profile=profile, level=level, appearance=appearance,  # type: ignore[arg-type]
                          timestamper=timestamper or local_timestamper(settings), validation_context=vc,
                          output=output)
        result.output.seek(0)
        ref = store.put(result.output)
    with session_scope(engine, write=True) as session:
        signed = record_signature(session, caller, base, ref, profile=profile, level=level, credential_id=used_id,
                                  action=f"document.sign.{profile}", details={"field": result.field_name})
        session.expunge(signed.document)
        session.expunge(signed.revision)
    return signed


# --- remote (two-step) signing --------------------------------------------------------

def check_certificate_chain(settings: Settings, cert: asn1_x509.Certificate) -> list[asn1_x509.Certificate]:
    """The certificate must chain to our trust anchors and not be revoked (our own CA is
    asked in-process; another CA's responder not answering is tolerated here: B-LT at
    ``complete`` checks again, hard-fail). Returns the intermediates to embed."""
    vc = validation_context(settings, revocation_mode="soft-fail", for_signing=True)
    validator = CertificateValidator(cert, validation_context=vc)
    try:
        path = run_sync(validator.async_validate_usage({"digital_signature"}))
    except RevokedError:
        raise Unprocessable("chứng thư số đã bị thu hồi / the certificate is revoked", code="certificate_revoked",
                            fields={"certificate": "revoked"}) from None
    except (PathBuildingError, PathValidationError) as exc:
        raise Unprocessable("chứng thư số không thuộc chuỗi tin cậy của hệ thống / the certificate does not chain "
                            "to a trusted root", code="certificate_untrusted",
                            fields={"certificate": f"untrusted ({type(exc).__name__})"}) from None
    except Exception as exc:  # noqa: BLE001 - a malformed certificate is the client's problem
        raise Unprocessable("chứng thư số không dùng được để ký / the certificate cannot sign",
                            code="certificate_invalid", fields={"certificate": type(exc).__name__}) from None
    chain = [c for c in path.iter_certs(include_root=False) if c.sha256 != cert.sha256]
    return chain


def check_certificate_owner(session: Session, caller: Caller, cert: asn1_x509.Certificate, profile: str) -> None:
    """A person certificate must name the caller (CN = full name) in the caller's agency
    (organizationIdentifier = agency code, or O = agency name); a seal certificate must be
    the caller's agency's."""
    s = subject_attributes(cert)
    agency = session.get(Agency, caller.agency_id)
    code, org = s.get("2.5.4.97", ""), s.get("organization_name", "")
    same_agency = (_norm(code) == _norm(caller.agency_code)) if code else (
        bool(org) and agency is not None and _norm(org) == _norm(agency.name))
    problem = None
    if not same_agency:
        problem = "chứng thư số không thuộc cơ quan của bạn / the certificate is not of your agency"
    elif profile == "person":
        user = session.get(User, caller.user_id)
        if not is_person_certificate(cert):
            problem = "đây không phải chứng thư số cá nhân / not a personal certificate"
        elif user is None or _norm(s.get("common_name", "")) != _norm(user.full_name):
            problem = "chứng thư số không mang tên bạn / the certificate does not name you"
    elif is_person_certificate(cert):
        problem = "đây không phải chứng thư số của cơ quan / not an agency seal certificate"
    if problem:
        raise Unprocessable(problem, code="certificate_not_yours", fields={"certificate": problem})


def _credential_for_certificate(session: Session, cert: asn1_x509.Certificate) -> Credential | None:
    for row in session.exec(select(Credential).where(Credential.serial == serial_hex(cert.serial_number))).all():
        if row.certificate == cert.dump():
            return row
    return None


def prepare_remote(engine: sa.Engine, store: BlobStore, settings: Settings, caller: Caller, document_id: int, *,
                   certificate: str, profile: str, level: str, appearance=None) -> SigningSession:  # type: ignore[no-untyped-def]
    """Step 1: check the certificate, prepare the revision, keep it in a SigningSession."""
    check_role(caller, profile)
    cert = load_certificate(certificate)
    with session_scope(engine) as session:
        base = signable_base(session, caller, document_id)
        check_certificate_owner(session, caller, cert, profile)
        known = _credential_for_certificate(session, cert)
        image, known_id = (known.image_png, known.id) if known is not None else (None, None)
    chain = check_certificate_chain(settings, cert)
    with spooled_copy(store, base.sha256) as source:
        with services_answering():
            prepared = prepare(source, cert, profile=profile, level=level, appearance=appearance, chain=chain,
                               timestamper=local_timestamper(settings), image_png=image)
    envelope = {"base": {"seq": base.seq, "sha256": base.sha256}, "credential_id": known_id,
                "field_name": prepared.field_name, "digest": base64.b64encode(prepared.digest).decode("ascii"),
                "prepared": json.loads(prepared.session_state)}
    row = SigningSession(id=secrets.token_urlsafe(24), document_id=document_id, created_by_id=caller.user_id,
                         profile=profile, level=level, state=json.dumps(envelope).encode("utf-8"),
                         expires_at=prepared.expires_at)
    with session_scope(engine, write=True) as session:
        own_document(session, caller, document_id)
        forget_old_sessions(session)
        session.add(row)
        audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="document.sign.prepare",
                     object=f"document:{document_id}",
                     details={"session": row.id[:8], "profile": profile, "level": level,
                              "certificate_serial": format(cert.serial_number, "x")})
        session.flush()
        session.expunge(row)
    return row


def forget_old_sessions(session: Session) -> int:
    """Delete sessions that expired more than ``EXPIRED_KEPT`` ago (each holds a copy of its
    prepared PDF). Until then an expired session still answers 410 rather than 404."""
    result = session.execute(sa.delete(SigningSession).where(SigningSession.completed_at.is_(None),  # type: ignore[union-attr]
                                                             SigningSession.expires_at < utcnow() - EXPIRED_KEPT))
    return result.rowcount or 0


def session_json(row: SigningSession) -> dict:
    """What the client needs for step 2 (the digest is public: it is what the client signs)."""
    envelope = json.loads(row.state)
    return {"session_id": row.id, "digest_algorithm": "sha256", "digest": envelope["digest"],
            "expires_at": audit._iso(row.expires_at), "field_name": envelope["field_name"]}


def _own_session(session: Session, caller: Caller, session_id: str, *, lock: bool = False) -> SigningSession:
    stmt = select(SigningSession).where(SigningSession.id == session_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.exec(stmt).first()
    if row is None or row.created_by_id is None or row.created_by_id != caller.user_id:
        raise NotFound("không có phiên ký này / no such signing session", code="session_not_found")
    return row


def _check_open(row: SigningSession) -> None:
    if row.completed_at is not None:
        raise Conflict("phiên ký đã hoàn tất / the signing session is already completed", code="session_completed")
    if _aware(row.expires_at) <= utcnow():
        raise Gone("phiên ký đã hết hạn, hãy chuẩn bị lại / the signing session has expired; prepare again")


def decode_signature(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("chữ ký không phải base64 / the signature is not base64",
                            fields={"signature": "base64 expected"}) from None
    if not raw:
        raise Unprocessable("chữ ký rỗng / empty signature", fields={"signature": "empty"})
    return raw


def complete_remote(engine: sa.Engine, store: BlobStore, settings: Settings, caller: Caller, session_id: str, *,
                    signature: str) -> Signed:
    """Step 2: embed the client's raw signature (checked against the certificate: a wrong
    one is 422 and stores nothing), then append the revision like a server-side signature."""
    raw = decode_signature(signature)
    with session_scope(engine) as session:
        row = _own_session(session, caller, session_id)
        _check_open(row)
        envelope = json.loads(row.state)
        document_id, profile, level = row.document_id, row.profile, row.level
        check_role(caller, profile)
    base = Base(document_id, envelope["base"]["seq"], envelope["base"]["sha256"])
    with output_buffer() as output:
        with services_answering():
            result = complete(envelope["prepared"], raw, timestamper=local_timestamper(settings),
                              validation_context=validation_context(settings, for_signing=True), output=output)
        result.output.seek(0)
        ref = store.put(result.output)
    with session_scope(engine, write=True) as session:
        row = _own_session(session, caller, session_id, lock=True)
        _check_open(row)  # a second complete racing this one loses here
        signed = record_signature(session, caller, base, ref, profile=profile, level=level,
                                  credential_id=envelope.get("credential_id"), action=f"document.sign.{profile}",
                                  details={"field": result.field_name, "remote": True})
        row.completed_at = utcnow()
        # the prepared PDF is now a revision in the blob store: keep only the small envelope
        row.state = json.dumps({k: v for k, v in envelope.items() if k != "prepared"}).encode("utf-8")
        session.add(row)
        session.flush()
        session.expunge(signed.document)
        session.expunge(signed.revision)
    return signed


# --- summary --------------------------------------------------------------------------

def signatures_summary(session: Session, revisions: list[Revision], *, internal: bool = True) -> list[dict]:
    """One entry per signed revision: who signed (name, organisation, serial), how, when.
    ``internal`` (the issuer agency) adds the signer's username and credential id; a
    recipient agency sees only what the PDF itself shows."""
    out = []
    for r in revisions:
        if r.kind != "signed":
            continue
        cred = session.get(Credential, r.credential_id) if r.credential_id is not None else None
        user = session.get(User, r.created_by_id) if r.created_by_id is not None else None
        signer: dict = {"name": user.full_name if user else None, "organization": None, "serial": None,
                        "username": user.username if user else None}
        if cred is not None:
            cert = x509.load_der_x509_certificate(cred.certificate)

            def first(oid):  # type: ignore[no-untyped-def]
                found = cert.subject.get_attributes_for_oid(oid)
                return str(found[0].value) if found else None

            signer.update(name=first(NameOID.COMMON_NAME), organization=first(NameOID.ORGANIZATION_NAME),
                          serial=cred.serial)
        if not internal:
            signer["username"] = None
        out.append({"seq": r.seq, "profile": r.profile, "level": r.level,
                    "credential_id": r.credential_id if internal else None,
                    "sha256": r.blob_sha256, "signer": signer, "signed_at": audit._iso(r.created_at)})
    return out


def summary_for(session: Session, caller: Caller, document_id: int) -> dict:
    """The signatures in the newest revision the caller may read. Every signature made
    before it is inside that file (incremental updates), so a recipient sees them all."""
    document, visible = readable(session, caller, document_id)
    upto = visible[-1].seq
    revisions = list(session.exec(select(Revision).where(Revision.document_id == document_id,
                                                         Revision.seq <= upto).order_by(Revision.seq)).all())
    internal = document.issuer_agency_id == caller.agency_id
    return {"document_id": document.id, "state": document.state,
            "signatures": signatures_summary(session, revisions, internal=internal)}
