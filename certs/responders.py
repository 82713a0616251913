"""CRL, OCSP (RFC 6960) and time-stamp (RFC 3161) answers of the development PKI.

Plain functions over bytes, so the HTTP endpoints (``api.py``) and the in-process
fetchers and time-stamper used while signing (``local.py``) give the same answers.
Malformed input gets a protocol-level error answer (OCSP ``malformedRequest``, TSP
``rejection``), never an exception.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlmodel import Session, col, select

from certs.ca import DevPKI, issuer_public_key, load_dev_pki, serial_hex
from certs.keystore import PrivateKey, pki_dir, write_private
from certs.models import Credential
from settings import Settings

log = logging.getLogger(__name__)

CRL_VALIDITY = timedelta(days=1)
ROOT_CRL_VALIDITY = timedelta(days=30)
OCSP_VALIDITY = timedelta(hours=12)
CLOCK_SKEW = timedelta(minutes=1)
# An arc of our own for the TSA policy (a development PKI: no registered OID).
TSA_POLICY_OID = "1.3.6.1.4.1.57264.1.1"
TSA_HASHES = {"sha256": 32, "sha384": 48, "sha512": 64}
REASONS = {flag.value: flag for flag in x509.ReasonFlags}


def parse_reason(text: str) -> x509.ReasonFlags:
    """``keyCompromise`` (RFC 5280 spelling) → ``ReasonFlags.key_compromise``."""
    try:
        return REASONS[text]
    except KeyError:
        raise ValueError(f"unknown revocation reason {text!r}; use one of {', '.join(sorted(REASONS))}") from None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _issuer_name(pki: DevPKI) -> str:
    return pki.issuing.subject.rfc4514_string()


def revoked_credentials(session: Session, settings: Settings) -> list[Credential]:
    pki = load_dev_pki(settings)
    query = select(Credential).where(col(Credential.revoked_at).is_not(None),
                                     Credential.issuer == _issuer_name(pki))
    return list(session.exec(query))


# --- CRL --------------------------------------------------------------------------------

def _build_crl(issuer: x509.Certificate, key: PrivateKey, entries: list[tuple[int, datetime, str | None]],
               validity: timedelta) -> bytes:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(now + validity)
        # Milliseconds since the epoch: increases across processes without shared state.
        .add_extension(x509.CRLNumber(int(time.time() * 1000)), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key(issuer)),
                       critical=False)
    )
    for serial, when, reason in entries:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason and reason != "unspecified":
            entry = entry.add_extension(x509.CRLReason(parse_reason(reason)), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _cached_crl(path: Path, wanted: set[int], validity: timedelta) -> bytes | None:
    """The stored CRL if it lists exactly ``wanted`` and has more than half its life left."""
    try:
        data = path.read_bytes()
        crl = x509.load_der_x509_crl(data)
    except (OSError, ValueError):
        return None
    next_update = crl.next_update_utc
    if next_update is None or next_update - _now() < validity / 2:
        return None
    if {entry.serial_number for entry in crl} != wanted:
        return None
    return data


def current_crl(session: Session, settings: Settings, *, force: bool = False) -> bytes:
    """The issuing CA's CRL (DER), regenerated when a revocation is missing from it or it ages.

    The database is the truth: a revocation committed by another process shows up at the
    next request, and a rolled-back one never stays listed.
    """
    pki = load_dev_pki(settings)
    rows = revoked_credentials(session, settings)
    wanted = {int(row.serial, 16) for row in rows}
    path = pki_dir(settings) / "crl.der"
    if not force:
        cached = _cached_crl(path, wanted, CRL_VALIDITY)
        if cached is not None:
            return cached
    entries = [(int(r.serial, 16), r.revoked_at or _now(), r.revocation_reason) for r in rows]
    data = _build_crl(pki.issuing, pki.issuing_key, entries, CRL_VALIDITY)
    write_private(path, data)
    return data


def root_crl(settings: Settings) -> bytes:
    """The root's CRL over the issuing CA (empty: the development root never revokes it)."""
    pki = load_dev_pki(settings)
    path = pki_dir(settings) / "root.crl.der"
    cached = _cached_crl(path, set(), ROOT_CRL_VALIDITY)
    if cached is not None:
        return cached
    data = _build_crl(pki.root, pki.root_key, [], ROOT_CRL_VALIDITY)
    write_private(path, data)
    return data


# --- OCSP -------------------------------------------------------------------------------

def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def _issuer_hashes(pki: DevPKI, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    name_hash = hashes.Hash(algorithm)
    name_hash.update(pki.issuing.subject.public_bytes())
    key_bits = pki.issuing_asn1.public_key["public_key"].contents[1:]  # BIT STRING without the unused-bits byte
    key_hash = hashes.Hash(algorithm)
    key_hash.update(key_bits)
    return name_hash.finalize(), key_hash.finalize()


def ocsp_response(session: Session, settings: Settings, request_der: bytes) -> bytes:
    """Answer one OCSP request (DER) about a certificate of the issuing CA."""
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = request.hash_algorithm
        serial = request.serial_number
        name_hash, key_hash = request.issuer_name_hash, request.issuer_key_hash
        nonce = None
        for ext in request.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                nonce = ext.value.nonce
    except Exception:  # noqa: BLE001 - any parse failure is the client's: answer malformedRequest
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        pki = load_dev_pki(settings)
        if (name_hash, key_hash) != _issuer_hashes(pki, algorithm):
            # We only speak for our issuing CA.
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        status, revoked_at, reason = _status(session, pki, serial)
        now = _now()
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=name_hash, issuer_key_hash=key_hash, serial_number=serial, algorithm=algorithm,
            cert_status=status, this_update=now - CLOCK_SKEW, next_update=now + OCSP_VALIDITY,
            revocation_time=revoked_at, revocation_reason=reason,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, pki.ocsp).certificates([pki.ocsp])
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        response = builder.sign(pki.ocsp_key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)
    except Exception:  # noqa: BLE001 - a responder answers; the reason goes to our log only
        log.exception("OCSP responder failed")
        return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)


def _status(session: Session, pki: DevPKI, serial: int
            ) -> tuple[ocsp.OCSPCertStatus, datetime | None, x509.ReasonFlags | None]:
    if serial in (pki.tsa.serial_number, pki.ocsp.serial_number):
        return ocsp.OCSPCertStatus.GOOD, None, None
    row = session.exec(select(Credential).where(Credential.serial == serial_hex(serial),
                                                Credential.issuer == _issuer_name(pki))).first()
    if row is None:
        return ocsp.OCSPCertStatus.UNKNOWN, None, None
    if row.revoked_at is not None:
        reason = parse_reason(row.revocation_reason) if row.revocation_reason else None
        return ocsp.OCSPCertStatus.REVOKED, row.revoked_at, reason
    return ocsp.OCSPCertStatus.GOOD, None, None


# --- RFC 3161 time stamps ---------------------------------------------------------------

class _StatusOnlyResp(core.Sequence):
    """TimeStampResp without a token: asn1crypto marks the token mandatory, RFC 3161 does not."""
    _fields = [("status", tsp.PKIStatusInfo)]


def _rejection(fail_info: str, text: str) -> bytes:
    return _StatusOnlyResp({
        "status": tsp.PKIStatusInfo({
            "status": tsp.PKIStatus("rejection"),
            "status_string": [text],
            "fail_info": tsp.PKIFailureInfo({fail_info}),
        })
    }).dump()


def tsa_response(settings: Settings, request_der: bytes) -> bytes:
    """Answer one RFC 3161 TimeStampReq (DER) with a TimeStampResp (DER)."""
    try:
        request = tsp.TimeStampReq.load(request_der, strict=True)
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        digest = imprint["hashed_message"].native
        request["nonce"].native  # noqa: B018 - parse now: a broken nonce is the client's error
    except Exception:  # noqa: BLE001
        return _rejection("bad_data_format", "malformed TimeStampReq")
    if algorithm not in TSA_HASHES:
        return _rejection("bad_alg", f"unsupported hash algorithm {algorithm}")
    if not isinstance(digest, bytes) or len(digest) != TSA_HASHES[algorithm]:
        return _rejection("bad_data_format", "message imprint length does not match its algorithm")
    if request["req_policy"].native not in (None, TSA_POLICY_OID):
        return _rejection("unaccepted_policy", "unsupported TSA policy")
    from certs.timestamper import dev_timestamper  # pyHanko: loaded by the first time stamp

    try:
        return dev_timestamper(settings).request_tsa_response(request).dump()
    except Exception:  # noqa: BLE001
        log.exception("TSA failed")
        return _rejection("system_failure", "time-stamp authority failure")
