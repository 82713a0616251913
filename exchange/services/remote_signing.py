"""Remote (two-step) signing, for officials who sign with their own token: ``prepare``
checks the certificate and makes the revision up to its signature value; ``complete`` embeds
the raw signature the client made over the digest and appends the revision like a
server-side signature.

The prepared PDF is kept in the blob store (content-addressed) and the signing session row
keeps only a small envelope with its reference, the digest and pyHanko's state.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from asn1crypto import x509 as asn1_x509
from sqlmodel import Session, col, select

from certs.ca import serial_hex
from certs.models import Credential
from errors import Conflict, ErrorCode, Gone, NotFound, Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.enums import SigningProfile
from exchange.domain.times import api_time
from exchange.models import Agency, SigningSession, User, utcnow
from exchange.services import attachments as attachment_seal
from exchange.services import audit
from exchange.services.register_numbers import require_registered
from exchange.services.signatures import (Base, Signed, check_parse_budget, check_role, output_buffer, own_document,
                                          printed_signer, record_signature, refuse_second_signature,
                                          services_answering, signable_base, signed_view, spooled_copy)
from exchange.services.signer_fields import CertifiedSigner
from signing.rules import is_person_certificate, normalise_name, same_agency, subject_attributes
from signing.appearance import Appearance
from storage.blobs import read_bytes
from storage.db import execute_dml
from translations import _l

# pyHanko, its validator and signing.remote are imported by the functions that use them:
# the ``flask`` commands reach this module (through the API's blueprints) and never sign.
if TYPE_CHECKING:
    from bootstrap import Services

EXPIRED_KEPT = timedelta(days=1)  # how long an expired remote-signing session still answers 410


def check_certificate_chain(svc: "Services", cert: asn1_x509.Certificate) -> list[asn1_x509.Certificate]:
    """The certificate must chain to our trust anchors and not be revoked (our own CA is
    asked in-process; another CA's responder not answering is tolerated here: B-LT at
    ``complete`` checks again, hard-fail). Returns the intermediates to embed."""
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, RevokedError

    from signing.sign import run_sync

    vc = svc.validation_context(revocation_mode="soft-fail", for_signing=True)
    validator = CertificateValidator(cert, validation_context=vc)
    try:
        path = run_sync(validator.async_validate_usage({"digital_signature"}))
    except RevokedError:
        raise Unprocessable(_l("the certificate is revoked"), code=ErrorCode.CERTIFICATE_REVOKED,
                            fields={"certificate": _l("revoked")}) from None
    except (PathBuildingError, PathValidationError) as exc:
        raise Unprocessable(_l("the certificate does not chain to a trusted root"),
                            code=ErrorCode.CERTIFICATE_UNTRUSTED,
                            fields={"certificate": _l("untrusted (%(error)s)", error=type(exc).__name__)}) from None
    except Exception as exc:  # noqa: BLE001 - a malformed certificate is the client's problem
        raise Unprocessable(_l("the certificate cannot sign"),
                            code=ErrorCode.CERTIFICATE_INVALID, fields={"certificate": type(exc).__name__}) from None
    chain = [c for c in path.iter_certs(include_root=False) if c.sha256 != cert.sha256]
    return chain


def check_certificate_owner(session: Session, caller: Caller, cert: asn1_x509.Certificate, profile: str) -> None:
    """A person certificate must name the caller (CN = full name) in the caller's agency
    (organizationIdentifier = agency code, or O = agency name); a seal certificate must be
    the caller's agency's."""
    s = subject_attributes(cert)
    agency = session.get(Agency, caller.agency_id)
    problem = None
    if not same_agency(cert, caller.agency_code, agency.name if agency else ""):
        problem = _l("the certificate is not of your agency")
    elif profile == SigningProfile.PERSON:
        user = session.get(User, caller.user_id)
        if not is_person_certificate(cert):
            problem = _l("not a personal certificate")
        elif user is None or normalise_name(s.get("common_name")) != normalise_name(user.full_name):
            problem = _l("the certificate does not name you")
    elif is_person_certificate(cert):
        problem = _l("not an agency seal certificate")
    if problem:
        raise Unprocessable(problem, code=ErrorCode.CERTIFICATE_NOT_YOURS, fields={"certificate": problem})


def _credential_for_certificate(session: Session, cert: asn1_x509.Certificate) -> Credential | None:
    for row in session.exec(select(Credential).where(Credential.serial == serial_hex(cert.serial_number))).all():
        if row.certificate == cert.dump():
            return row
    return None


def prepare_remote(svc: "Services", caller: Caller, document_id: int, *, certificate: str, profile: str,
                   level: str, appearance: Appearance | None = None) -> dict[str, Any]:
    """Step 1: check the certificate, prepare the revision, keep it in a SigningSession;
    answer with what the client signs."""
    from signing.remote import load_certificate, prepare

    check_role(caller, profile)
    cert = load_certificate(certificate)
    with svc.uow() as uow:
        base = signable_base(uow.session, caller, document_id)
        refuse_second_signature(uow.session, caller, document_id, profile)
        printed = printed_signer(uow.session, document_id)
        if profile == SigningProfile.SEAL:
            attachment_seal.refuse_remote_seal(uow.session, document_id)
        check_certificate_owner(uow.session, caller, cert, profile)
        if profile == SigningProfile.SEAL:
            require_registered(uow.session, document_id)
        known = _credential_for_certificate(uow.session, cert)
        image, known_id = (known.image_png, known.id) if known is not None else (None, None)
    chain = check_certificate_chain(svc, cert)
    with spooled_copy(svc.blobs, base.sha256) as source:
        check_parse_budget(svc, source)
        with services_answering():
            prepared = prepare(source, cert, profile=profile, level=level, appearance=appearance, chain=chain,
                               timestamper=svc.timestamper(), image_png=image, signer_text=printed)
    pdf = svc.blobs.put(io.BytesIO(prepared.prepared_pdf))
    envelope = {"base": {"seq": base.seq, "sha256": base.sha256}, "credential_id": known_id,
                "field_name": prepared.field_name, "digest": base64.b64encode(prepared.digest).decode("ascii"),
                "prepared": json.loads(prepared.session_state),
                "prepared_pdf": {"sha256": pdf.sha256, "size": pdf.size}, "placement": prepared.placement}
    row = SigningSession(id=secrets.token_urlsafe(24), document_id=document_id, created_by_id=caller.user_id,
                         profile=profile, level=level, state=json.dumps(envelope).encode("utf-8"),
                         expires_at=prepared.expires_at)
    with svc.uow(write=True) as uow:
        own_document(uow.session, caller, document_id)
        forget_old_sessions(uow.session)
        uow.session.add(row)
        audit.record(uow.session, caller, "document.sign.prepare", f"document:{document_id}",
                     {"session": row.id[:8], "profile": profile, "level": level,
                      "certificate_serial": format(cert.serial_number, "x")})
        uow.commit()
    return session_json(row)


def forget_old_sessions(session: Session) -> int:
    """Delete sessions that expired more than ``EXPIRED_KEPT`` ago. Until then an expired
    session still answers 410 rather than 404."""
    stale = sa.delete(SigningSession).where(col(SigningSession.completed_at).is_(None),
                                            col(SigningSession.expires_at) < utcnow() - EXPIRED_KEPT)
    return execute_dml(session, stale)


def session_json(row: SigningSession) -> dict[str, Any]:
    """What the client needs for step 2 (the digest is public: it is what the client signs)."""
    envelope = json.loads(row.state)
    return {"session_id": row.id, "digest_algorithm": "sha256", "digest": envelope["digest"],
            "expires_at": api_time(row.expires_at), "field_name": envelope["field_name"],
            "placement": envelope.get("placement", "default")}


def _own_session(session: Session, caller: Caller, session_id: str, *, lock: bool = False) -> SigningSession:
    stmt = select(SigningSession).where(SigningSession.id == session_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.exec(stmt).first()
    if row is None or row.created_by_id is None or row.created_by_id != caller.user_id:
        raise NotFound(_l("no such signing session"), code=ErrorCode.SESSION_NOT_FOUND)
    return row


def _check_open(row: SigningSession) -> None:
    if row.completed_at is not None:
        raise Conflict(_l("the signing session is already completed"), code=ErrorCode.SESSION_COMPLETED)
    if row.expires_at <= utcnow():
        raise Gone(_l("the signing session has expired; prepare again"))


def decode_signature(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable(_l("the signature is not base64"),
                            fields={"signature": _l("base64 expected")}) from None
    if not raw:
        raise Unprocessable(_l("empty signature"), fields={"signature": _l("empty")})
    return raw


def complete_revision(svc: "Services", caller: Caller, session_id: str, *, signature: str) -> Signed:
    """Step 2: embed the client's raw signature (checked against the certificate: a wrong
    one is 422 and stores nothing), then append the revision like a server-side signature."""
    from signing.remote import complete, load_certificate

    raw = decode_signature(signature)
    with svc.uow() as uow:
        row = _own_session(uow.session, caller, session_id)
        _check_open(row)
        envelope = json.loads(row.state)
        document_id, profile, level = row.document_id, row.profile, row.level
        check_role(caller, profile)
    base = Base(document_id, envelope["base"]["seq"], envelope["base"]["sha256"])
    subject = subject_attributes(load_certificate(base64.b64decode(envelope["prepared"]["certificate"])))
    certified = CertifiedSigner(subject.get("common_name", ""), subject.get("title", ""))
    prepared_pdf = read_bytes(svc.blobs, envelope["prepared_pdf"]["sha256"])
    with output_buffer() as output:
        with services_answering():
            result = complete(envelope["prepared"], raw, prepared_pdf=prepared_pdf, timestamper=svc.timestamper(),
                              validation_context=svc.validation_context(for_signing=True), output=output)
        result.output.seek(0)
        ref = svc.blobs.put(result.output)
    with svc.uow(write=True) as uow:
        row = _own_session(uow.session, caller, session_id, lock=True)
        _check_open(row)  # a second complete racing this one loses here
        signed = record_signature(uow.session, caller, base, ref, profile=profile, level=level,
                                  credential_id=envelope.get("credential_id"), action=f"document.sign.{profile}",
                                  details={"field": result.field_name, "remote": True},
                                  placement=envelope.get("placement", "default"), certified=certified)
        if profile == SigningProfile.SEAL:  # an attachment added since prepare (the document is locked now)
            attachment_seal.refuse_remote_seal(uow.session, document_id)
        row.completed_at = utcnow()
        # signed: pyHanko's state (certificates, attributes) has served; keep the small envelope
        row.state = json.dumps({k: v for k, v in envelope.items() if k != "prepared"}).encode("utf-8")
        uow.session.add(row)
        uow.commit()
    return signed


def complete_remote(svc: "Services", caller: Caller, session_id: str, *, signature: str) -> dict[str, Any]:
    """``POST /signing-sessions/{id}/complete``: embed, and answer with the signed document."""
    return signed_view(svc, caller, complete_revision(svc, caller, session_id, signature=signature))
