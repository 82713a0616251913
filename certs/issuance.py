"""Credentials: issue (person, agency seal), import from a real CA, revoke, load for signing.

Plain functions taking a session and the settings; the CLI and any HTTP handler share them.
Private keys go to the PKCS#11 token when ``LIENTHONG_PKCS11_LIB`` is set, otherwise to a
PKCS#12 file encrypted with the data folder's storage key. A key is never logged or returned.
"""
from __future__ import annotations

import logging
import secrets
import threading
from typing import TYPE_CHECKING
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from sqlmodel import Session, select

from certs import images, keystore
from certs.ca import (ORGANIZATION_IDENTIFIER, build_certificate, crl_url, leaf_extensions, load_dev_pki, name,
                      new_rsa_key, normalise_serial, serial_hex)
from certs.credentials import SigningCredential
from certs.ports import CredentialAudit
from certs.models import Credential, utcnow
from certs.responders import current_crl, parse_reason
from settings import Settings
from translations import _l

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer

log = logging.getLogger(__name__)

PERSON_DAYS = 365 * 2
SEAL_DAYS = 365 * 3


class CredentialNotFound(LookupError):
    pass


class CredentialRevoked(ValueError):
    pass


def _first(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _row(*, owner_kind: str, owner_ref: str, cert: x509.Certificate, key_store: str, key_ref: str,
         image_png: bytes | None) -> Credential:
    return Credential(
        owner_kind=owner_kind, owner_ref=owner_ref,
        certificate=cert.public_bytes(serialization.Encoding.DER),
        serial=serial_hex(cert.serial_number), subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(), key_store=key_store, key_ref=key_ref, image_png=image_png,
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
    )


def _issue(session: Session, settings: Settings, *, owner_kind: str, owner_ref: str, subject: x509.Name,
           days: int, image_png: bytes, audit: CredentialAudit | None) -> Credential:
    pki = load_dev_pki(settings)
    label = f"lienthong-{owner_kind}-{secrets.token_hex(8)}"
    if keystore.pkcs11_configured(settings):
        token_key = keystore.pkcs11_generate_rsa(settings, label)
        public_key = token_key.public_key
    else:
        key = new_rsa_key()
        public_key = key.public_key()
    cert = build_certificate(subject=subject, public_key=public_key, issuer_cert=pki.issuing,
                             issuer_key=pki.issuing_key, days=days, extensions=leaf_extensions(),
                             settings=settings, crl=crl_url(settings), with_ocsp=True)
    if keystore.pkcs11_configured(settings):
        keystore.pkcs11_store_certificate(settings, label, token_key.key_id, cert)
        key_store, key_ref = "pkcs11", label
    else:
        key_store, key_ref = "pkcs12", f"pki/credentials/{label}.p12"
        keystore.save_p12(settings, key_ref, label, key, cert)
    row = _row(owner_kind=owner_kind, owner_ref=owner_ref, cert=cert, key_store=key_store, key_ref=key_ref,
               image_png=image_png)
    session.add(row)
    session.flush()
    log.info("issued %s credential %s for %s (serial %s, key in %s)", owner_kind, row.id, owner_ref,
             row.serial, key_store)
    if audit is not None:
        audit.record(session, action="credential.issue", owner_kind=owner_kind, owner_ref=owner_ref,
                     details={"credential_id": row.id, "serial": row.serial, "key_store": key_store})
    return row


def issue_person_credential(session: Session, settings: Settings, *, username: str, full_name: str,
                            position: str, agency_code: str, agency_name: str,
                            image_png: bytes | None = None, audit: CredentialAudit | None = None) -> Credential:
    """A personal signing certificate: CN=full name, title=position, O=agency, organizationIdentifier=code."""
    for label, value in (("username", username), ("full_name", full_name), ("agency_code", agency_code),
                         ("agency_name", agency_name)):
        if not value or not value.strip():
            raise ValueError(_l("%(field)s must not be empty", field=label))
    image = images.check_png(image_png) if image_png else images.signature_placeholder(full_name)
    subject = name(full_name.strip(), o=agency_name.strip(), title=position.strip() or None,
                   org_id=agency_code.strip())
    return _issue(session, settings, owner_kind="user", owner_ref=username, subject=subject,
                  days=PERSON_DAYS, image_png=image, audit=audit)


def issue_agency_seal(session: Session, settings: Settings, *, agency_code: str, agency_name: str,
                      image_png: bytes | None = None, audit: CredentialAudit | None = None) -> Credential:
    """The agency's seal certificate: CN=O=agency name, organizationIdentifier=code."""
    if not agency_code.strip() or not agency_name.strip():
        raise ValueError(_l("agency_code and agency_name must not be empty"))
    image = images.check_png(image_png) if image_png else images.seal_placeholder(agency_name)
    subject = name(agency_name.strip(), o=agency_name.strip(), org_id=agency_code.strip())
    return _issue(session, settings, owner_kind="agency", owner_ref=agency_code, subject=subject,
                  days=SEAL_DAYS, image_png=image, audit=audit)


def import_pkcs12(session: Session, settings: Settings, *, data: bytes, password: bytes | None,
                  owner_kind: str, owner_ref: str, image_png: bytes | None = None,
                  audit: CredentialAudit | None = None) -> Credential:
    """Store a real CA's credential: re-encrypted with our storage key, its chain kept beside it."""
    if owner_kind not in ("user", "agency"):
        raise ValueError("owner_kind must be 'user' or 'agency'")
    key, cert, chain = keystore.load_pkcs12(data, password)
    if cert.public_key() != key.public_key():
        raise ValueError(_l("the PKCS#12 key does not match its certificate"))
    label = f"lienthong-import-{secrets.token_hex(8)}"
    key_ref = f"pki/credentials/{label}.p12"
    keystore.write_private(settings.data_dir / key_ref,
                           keystore.dump_pkcs12(label, key, cert, keystore.storage_key(settings), chain))
    if image_png:
        image = images.check_png(image_png)
    elif owner_kind == "user":
        image = images.signature_placeholder(_first(cert, NameOID.COMMON_NAME) or owner_ref)
    else:
        image = images.seal_placeholder(_first(cert, NameOID.ORGANIZATION_NAME) or owner_ref)
    row = _row(owner_kind=owner_kind, owner_ref=owner_ref, cert=cert, key_store="pkcs12", key_ref=key_ref,
               image_png=image)
    session.add(row)
    session.flush()
    log.info("imported %s credential %s for %s (serial %s)", owner_kind, row.id, owner_ref, row.serial)
    if audit is not None:
        audit.record(session, action="credential.import", owner_kind=owner_kind, owner_ref=owner_ref,
                     details={"credential_id": row.id, "serial": row.serial, "subject": row.subject})
    return row


def revoke(session: Session, settings: Settings, serial: str, reason: str = "unspecified", *,
           audit: CredentialAudit | None = None) -> Credential:
    """Mark the credential revoked and regenerate the CRL. Revoking twice keeps the first date."""
    parse_reason(reason)
    wanted = normalise_serial(serial)
    row = session.exec(select(Credential).where(Credential.serial == wanted)).first()
    if row is None:
        raise CredentialNotFound(_l("no credential with serial %(serial)s", serial=wanted))
    if row.revoked_at is None:
        row.revoked_at = datetime.now(timezone.utc).replace(microsecond=0)
        row.revocation_reason = reason
        session.add(row)
        session.flush()
        log.info("revoked credential %s (serial %s, %s)", row.id, row.serial, reason)
        if audit is not None:
            audit.record(session, action="credential.revoke", owner_kind=row.owner_kind, owner_ref=row.owner_ref,
                         details={"credential_id": row.id, "serial": row.serial, "reason": reason})
    forget_signing_credential(row.id)
    current_crl(session, settings, force=True)
    return row


# --- loading for signing ----------------------------------------------------------------

_loaded: dict[tuple[str, int, int], SigningCredential] = {}
_loaded_lock = threading.Lock()


def forget_signing_credential(credential_id: int | None) -> None:
    with _loaded_lock:
        for key in [k for k in _loaded if k[1] == credential_id]:
            del _loaded[key]


def load_signing_credential(session: Session, settings: Settings, credential_id: int) -> SigningCredential:
    """The credential with its key loaded, cached per worker process (keyed by id).

    Refuses a revoked or expired credential. The signer is safe to share between threads:
    a PKCS#12 key object signs concurrently; the PKCS#11 session is used under a lock.
    """
    row = session.get(Credential, credential_id)
    if row is None:
        raise CredentialNotFound(_l("no credential %(id)s", id=credential_id))
    if row.revoked_at is not None:
        raise CredentialRevoked(_l("credential %(id)s is revoked", id=credential_id))
    if row.not_after < utcnow():
        raise CredentialRevoked(_l("credential %(id)s has expired", id=credential_id))
    # A token's signer is only good while the library keeps its session (see keystore).
    generation = keystore.pkcs11_generation() if row.key_store == "pkcs11" else 0
    cache_key = (str(settings.data_dir.resolve()), credential_id, generation)
    cached = _loaded.get(cache_key)
    if cached is not None:
        return cached
    with _loaded_lock:
        cached = _loaded.get(cache_key)
        if cached is not None:
            return cached
        credential = _build_signing_credential(settings, row)
        _loaded[cache_key] = credential
        return credential


def _build_signing_credential(settings: Settings, row: Credential) -> SigningCredential:
    cert = x509.load_der_x509_certificate(row.certificate)
    asn1_cert = keystore.to_asn1_cert(cert)
    pki = load_dev_pki(settings)
    signer: Signer
    if row.key_store == "pkcs11":
        chain = [pki.issuing_asn1]
        signer = keystore.pkcs11_signer(settings, row.key_ref, asn1_cert, chain)
    else:
        key, _, extra = keystore.load_pkcs12((settings.data_dir / row.key_ref).read_bytes(),
                                             keystore.storage_key(settings))
        if extra:  # an imported credential carries its own CA chain
            chain = [keystore.to_asn1_cert(c) for c in extra if c.subject != c.issuer]
        else:
            chain = [pki.issuing_asn1]
        from certs.key_signer import CachedKeySigner  # pyHanko: loaded by the first signature

        signer = CachedKeySigner(key, asn1_cert, chain)
    organization = _first(cert, NameOID.ORGANIZATION_NAME)
    return SigningCredential(
        kind="person" if row.owner_kind == "user" else "seal",
        signer=signer,
        certificate=asn1_cert,
        chain=tuple(chain),
        display_name=_first(cert, NameOID.COMMON_NAME),
        position=_first(cert, NameOID.TITLE) if row.owner_kind == "user" else "",
        organization=organization,
        agency_code=_first(cert, ORGANIZATION_IDENTIFIER) or (row.owner_ref if row.owner_kind == "agency" else ""),
        image_png=row.image_png,
        credential_id=row.id,
    )
