"""Signing a stored document on the server with the caller's own credential, and what a
document's signatures are.

Each signature is three steps, so that the slow part holds no database lock:
1. read (no write lock): who may sign, which credential, the base revision;
2. sign outside any transaction, streaming the result into the blob store;
3. one write transaction: the base revision must still be the latest (else 409: two
   signers racing on one document must not fork the revision chain), then the new
   Revision, the document's state and the audit event commit together.
A refused or failed signature leaves at most an unreferenced, content-addressed blob.

Our own CA's OCSP/CRL and TSA are answered in-process (``certs.fetchers``): a worker that
signs must never wait on an HTTP call to itself. Remote (two-step) signing is
``exchange.services.remote_signing``.
"""
from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Iterator

import sqlalchemy as sa
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlmodel import Session, col, select

from certs.credentials import SigningCredential
from certs.issuance import CredentialNotFound, CredentialRevoked, load_signing_credential
from certs.models import Credential
from errors import Conflict, ErrorCode, Forbidden, NotFound
from exchange.domain.caller import Caller
from exchange.domain.enums import RevisionKind, Role, SigningProfile
from exchange.domain.lifecycle import CLOSED_TO_SIGNATURES, state_after_signature
from exchange.domain.times import api_time
from exchange.models import Document, Revision, User, utcnow
from exchange.services import attachments as attachment_seal  # a module: it calls back into this one
from exchange.services import audit, signer_fields
from exchange.services.documents import readable
from exchange.services.register_numbers import require_registered
from exchange.services.signer_fields import CertifiedSigner
from exchange.services.views import document_view
from settings import Settings
from signing import prescan
from signing.appearance import Appearance
from storage.blobs import BlobRef, BlobStore
from translations import _l

# signing.sign and signing.signature_block (pyHanko, fontTools, pypdfium2) are imported by
# the functions that sign: the ``flask`` commands reach this module and never sign.
if TYPE_CHECKING:
    from bootstrap import Services
    from signing.signature_block import SignerText

SERVER_KEY_STORES = ("pkcs12", "pkcs11")  # others (a certificate of an official's own token) sign remotely
PROFILE_ROLE = {SigningProfile.PERSON: Role.SIGNER, SigningProfile.SEAL: Role.CLERK}
SPOOL_MAX = 16 * 1024 * 1024  # documents above this spill to a temporary file while signing


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
    placement: str = "default"  # signature_block | default | box: how the stamp's place was chosen
    notices: tuple[dict[str, Any], ...] = ()  # what the clerk is told (signer fields replaced…)


# --- reading --------------------------------------------------------------------------

def check_role(caller: Caller, profile: str) -> None:
    """A person signature needs ``signer``; the agency seal needs ``clerk``."""
    role = PROFILE_ROLE[SigningProfile(profile)]
    if not caller.is_user or role not in caller.roles:
        raise Forbidden(_l("the '%(role)s' role is needed for a %(profile)s signature", role=role, profile=profile))


def own_document(session: Session, caller: Caller, document_id: int, *, lock: bool = False) -> Document:
    """The caller's agency's document (another agency's is 404, exactly like a missing one)."""
    stmt = select(Document).where(Document.id == document_id)
    if lock:
        stmt = stmt.with_for_update()
    document = session.exec(stmt).first()
    if document is None or not document.is_issued_by(caller.agency_id):
        raise NotFound(_l("no such document"))
    return document


def latest_revision(session: Session, document_id: int) -> Revision:
    revision = session.exec(select(Revision).where(Revision.document_id == document_id)
                            .order_by(col(Revision.seq).desc()).limit(1)).first()
    if revision is None:  # a document is always created with its first revision
        raise NotFound(_l("the document has no file"))
    return revision


def signable_base(session: Session, caller: Caller, document_id: int) -> Base:
    document = own_document(session, caller, document_id)
    if document.state in CLOSED_TO_SIGNATURES:
        raise Conflict(_l("the document is already %(state)s; it takes no further signature", state=document.state),
                       code=ErrorCode.DOCUMENT_CLOSED)
    revision = latest_revision(session, document_id)
    return Base(document_id, revision.seq, revision.blob_sha256)


def refuse_second_signature(session: Session, caller: Caller, document_id: int, profile: str) -> None:
    """One official signs a document once: a second person signature of the same user is 409
    (a seal twice is already refused: a sealed document takes no further signature)."""
    if profile != SigningProfile.PERSON or caller.user_id is None:
        return
    earlier = session.exec(select(Revision.seq).where(Revision.document_id == document_id,
                                                      Revision.profile == SigningProfile.PERSON.value,
                                                      Revision.created_by_id == caller.user_id).limit(1)).first()
    if earlier is not None:
        raise Conflict(_l("you have already signed this document (revision %(seq)s)", seq=earlier),
                       code=ErrorCode.ALREADY_SIGNED)


def printed_signer(session: Session, document_id: int) -> SignerText:
    """The signer as the document's metadata gives them: what the letter prints, most likely."""
    from signing.signature_block import SignerText

    document = session.get(Document, document_id)
    if document is None:
        return SignerText((), ())
    return SignerText((document.signer_position,), (document.signer_name,))


def pick_credential(session: Session, caller: Caller, profile: str, credential_id: int | None) -> Credential:
    """The caller's own credential: person → the user's (newest valid unless named); seal →
    the agency's. Someone else's credential id is 404: nobody learns which ids exist."""
    owner_kind, owner_ref = (("user", caller.username) if profile == SigningProfile.PERSON
                             else ("agency", caller.agency_code))
    if credential_id is not None:
        row = session.get(Credential, credential_id)
        if row is None or row.owner_kind != owner_kind or row.owner_ref != owner_ref:
            raise NotFound(_l("no such credential"),
                           code=ErrorCode.CREDENTIAL_NOT_FOUND, fields={"credential_id": _l("not yours")})
        if row.key_store not in SERVER_KEY_STORES:
            raise Conflict(_l("this credential's key is not held by the service; use remote signing"),
                           code=ErrorCode.KEY_NOT_HELD, fields={"credential_id": _l("remote signing only")})
        return row
    rows = session.exec(select(Credential).where(Credential.owner_kind == owner_kind,
                                                 Credential.owner_ref == owner_ref,
                                                 col(Credential.key_store).in_(SERVER_KEY_STORES))
                        .order_by(col(Credential.created_at).desc(), col(Credential.id).desc())).all()
    now = utcnow()
    for row in rows:
        if row.revoked_at is None and row.not_before <= now < row.not_after:
            return row
    person = profile == SigningProfile.PERSON
    if rows:
        raise Conflict(_l("the person credential is revoked or expired") if person
                       else _l("the seal credential is revoked or expired"), code=ErrorCode.CREDENTIAL_REVOKED)
    raise Conflict(_l("no person credential has been issued") if person else _l("no seal credential has been issued"),
                   code=ErrorCode.NO_CREDENTIAL)


def load_credential(session: Session, settings: Settings, row: Credential) -> SigningCredential:
    try:
        assert row.id is not None
        return load_signing_credential(session, settings, row.id)
    except CredentialRevoked as exc:
        raise Conflict(_l("the credential is revoked or expired (%(reason)s)", reason=exc.args[0]),
                       code=ErrorCode.CREDENTIAL_REVOKED) from None
    except CredentialNotFound:
        raise NotFound(_l("no such credential"), code=ErrorCode.CREDENTIAL_NOT_FOUND) from None


def spooled_copy(store: BlobStore, sha256: str) -> IO[bytes]:
    """The blob as a seekable stream (pyHanko seeks; an S3 reader does not)."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
    with store.open(sha256) as reader:
        while chunk := reader.read(1 << 20):
            out.write(chunk)
    out.seek(0)
    return out


def output_buffer() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX, mode="w+b")


def check_parse_budget(svc: "Services", source: IO[bytes]) -> None:
    """422 ``pdf_too_complex`` unless a killable worker reads the file within the budget
    (``signing.isolation``): signing, which holds the keys, parses it only then."""
    try:
        svc.verifier.probe_parse(source, time_budget_s=svc.settings.verify_time_budget_s)
    except prescan.StructureRefused as exc:
        raise prescan.refusal(exc) from None


def durable_put(store: BlobStore, stream: IO[bytes]) -> BlobRef:
    """``store.put(stream)``. A gevent worker (gunicorn -k gevent) runs all its requests on one
    OS thread, and gevent does not make ``os.fsync`` cooperative: the local disk's fsyncs of
    the signed file and its folders (~10 ms, far more on a busy disk) stopped every request of
    the worker, its core idle meanwhile (issue 13, item 5). There they wait on one of gevent's
    native threads while the worker's other requests go on. Other stores talk over gevent's
    own sockets (cooperative already) and stay where they are; without gevent nothing moves."""
    from storage.filesystem import FilesystemBlobStore

    monkey = sys.modules.get("gevent.monkey")
    if isinstance(store, FilesystemBlobStore) and monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        ref: BlobRef = gevent.get_hub().threadpool.apply(store.put, (stream,))
        return ref
    return store.put(stream)


@contextmanager
def services_answering() -> Iterator[None]:
    """pyHanko lets a TSA that does not answer escape as its own error type (not a
    SigningError): that is our dependency being down, 503, not a 500."""
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    from signing.sign import signing_failure

    try:
        yield
    except (TimestampRequestError, OSError) as exc:
        raise signing_failure(exc) from exc


# --- writing --------------------------------------------------------------------------

def record_signature(session: Session, caller: Caller, base: Base, ref: BlobRef, *, profile: str, level: str,
                     credential_id: int | None, action: str, details: dict[str, Any] | None = None,
                     placement: str = "default", certified: CertifiedSigner | None = None) -> Signed:
    """Step 3, in the caller's write transaction: append the revision on top of ``base``.
    ``certified``: the person signature's certificate's name and title, which become the
    document's signer fields."""
    document = own_document(session, caller, base.document_id, lock=True)
    latest = latest_revision(session, base.document_id)
    if latest.seq != base.seq or document.state in CLOSED_TO_SIGNATURES:
        raise Conflict(_l("the document changed while it was being signed; reload it and sign again"),
                       code=ErrorCode.REVISION_CONFLICT)
    refuse_second_signature(session, caller, base.document_id, profile)  # a twin racing this one
    notices = signer_fields.adopt(document, certified) if certified and profile == SigningProfile.PERSON else []
    revision = Revision(document_id=base.document_id, seq=base.seq + 1, blob_sha256=ref.sha256, size=ref.size,
                        kind=RevisionKind.SIGNED, profile=profile, level=level, credential_id=credential_id,
                        created_by_id=caller.user_id)
    session.add(revision)
    try:
        session.flush()
    except sa.exc.IntegrityError:  # (document_id, seq) is unique: the database's own word on a race
        raise Conflict(_l("the document changed while it was being signed"),
                       code=ErrorCode.REVISION_CONFLICT) from None
    document.state = state_after_signature(document.state, profile)
    document.updated_at = utcnow()
    session.add(document)
    audit.record(session, caller, action, f"document:{base.document_id}",
                 {"seq": base.seq + 1, "sha256": ref.sha256, "size": ref.size, "profile": profile,
                  "level": level, "credential_id": credential_id, "placement": placement,
                  **({"signer_fields": {n["field"]: n["value"] for n in notices}} if notices else {}),
                  **(details or {})})
    return Signed(document, revision, placement, tuple(notices))



# --- summary --------------------------------------------------------------------------

def signatures_summary(session: Session, revisions: list[Revision], *, internal: bool = True) -> list[dict[str, Any]]:
    """One entry per signed revision: who signed (name, organisation, serial), how, when.
    ``internal`` (the issuer agency) adds the signer's username and credential id; a
    recipient agency sees only what the PDF itself shows."""
    out = []
    for r in revisions:
        if r.kind != RevisionKind.SIGNED:
            continue
        cred = session.get(Credential, r.credential_id) if r.credential_id is not None else None
        user = session.get(User, r.created_by_id) if r.created_by_id is not None else None
        signer: dict[str, Any] = {"name": user.full_name if user else None, "organization": None, "serial": None,
                        "username": user.username if user else None}
        if cred is not None:
            cert = x509.load_der_x509_certificate(cred.certificate)

            signer.update(name=_first(cert, NameOID.COMMON_NAME),
                          organization=_first(cert, NameOID.ORGANIZATION_NAME), serial=cred.serial)
        if not internal:
            signer["username"] = None
        out.append({"seq": r.seq, "profile": r.profile, "level": r.level,
                    "credential_id": r.credential_id if internal else None,
                    "sha256": r.blob_sha256, "signer": signer, "signed_at": api_time(r.created_at)})
    return out

def _first(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    found = cert.subject.get_attributes_for_oid(oid)
    return str(found[0].value) if found else None


def summary_for(svc: "Services", caller: Caller, document_id: int) -> dict[str, Any]:
    """The signatures in the newest revision the caller may read. Every signature made
    before it is inside that file (incremental updates), so a recipient sees them all."""
    with svc.uow() as uow:
        session = uow.session
        document, visible = readable(session, caller, document_id)
        upto = visible[-1].seq
        revisions = list(session.exec(select(Revision).where(Revision.document_id == document_id,
                                                             Revision.seq <= upto).order_by(col(Revision.seq))).all())
        internal = document.is_issued_by(caller.agency_id)
        return {"document_id": document.id, "state": document.state,
                "signatures": signatures_summary(session, revisions, internal=internal)}


def signed_view(svc: "Services", caller: Caller, signed: Signed) -> dict[str, Any]:
    """What a signing answers: the document, the new revision's signature, all signatures."""
    with svc.uow() as uow:
        assert signed.document.id is not None
        document, revisions = readable(uow.session, caller, signed.document.id)
        summary = signatures_summary(uow.session, revisions)
        body = document_view(uow.session, document, revisions)
    revision = next(s for s in summary if s["seq"] == signed.revision.seq)
    return {"document": body, "revision": revision, "signatures": summary, "placement": signed.placement,
            "notices": list(signed.notices)}


# --- signing on the server ------------------------------------------------------------

def sign_revision(svc: "Services", caller: Caller, document_id: int, *, profile: str, level: str,
                  credential_id: int | None = None, appearance: Appearance | None = None) -> Signed:
    """A server-side signature with the caller's own credential; returns the new revision."""
    from signing.sign import sign

    check_role(caller, profile)
    with svc.uow() as uow:
        base = signable_base(uow.session, caller, document_id)
        refuse_second_signature(uow.session, caller, document_id, profile)
        printed = printed_signer(uow.session, document_id)
        row = pick_credential(uow.session, caller, profile, credential_id)
        if profile == SigningProfile.SEAL:
            require_registered(uow.session, document_id)
        credential = load_credential(uow.session, svc.settings, row)
        used_id = row.id
    with spooled_copy(svc.blobs, base.sha256) as source, output_buffer() as output:
        check_parse_budget(svc, source)
        with services_answering():
            result = sign(source, credential, profile=SigningProfile(profile).value, level=level,  # type: ignore[arg-type]  # checked strings, not signing's Literals
                          appearance=appearance, timestamper=svc.timestamper(),
                          validation_context=svc.validation_context(for_signing=True), output=output,
                          signer_text=printed)
        result.output.seek(0)
        ref = durable_put(svc.blobs, result.output)
    sealing = profile == SigningProfile.SEAL
    sealed = attachment_seal.seal_all(svc, document_id, credential, level) if sealing else []
    with svc.uow(write=True) as uow:
        signed = record_signature(uow.session, caller, base, ref, profile=profile, level=level,
                                  credential_id=used_id, action=f"document.sign.{profile}",
                                  details={"field": result.field_name,
                                           **({"attachments": len(sealed)} if sealing else {})},
                                  placement=result.placement,
                                  certified=CertifiedSigner(credential.display_name, credential.position))
        if sealing:
            attachment_seal.record_sealed(uow.session, document_id, sealed)
        uow.commit()
    return signed


def sign_document(svc: "Services", caller: Caller, document_id: int, *, profile: str, level: str,
                  credential_id: int | None = None, appearance: Appearance | None = None) -> dict[str, Any]:
    """``POST /documents/{id}/signatures``: sign, and answer with the signed document."""
    signed = sign_revision(svc, caller, document_id, profile=profile, level=level, credential_id=credential_id,
                           appearance=appearance)
    return signed_view(svc, caller, signed)
