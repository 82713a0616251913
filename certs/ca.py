"""The development PKI: root CA → issuing CA, plus OCSP-responder and TSA certificates.

``init_dev_pki`` makes it once under ``data_dir/pki/`` (later calls load what is there);
``load_dev_pki`` loads it once per process. Private keys are kept in PKCS#12 files
encrypted with the data folder's storage key, never in clear.

A real deployment trusts its national root through ``trust.py`` and imports its
credentials with ``import_pkcs12``; this CA is for development, tests and demos.
"""
from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.keystore import PrivateKey, open_p12, pki_dir, save_p12, to_asn1_cert
from settings import Settings
from translations import _l

ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")
CA_KEY_BITS = 3072
LEAF_KEY_BITS = 2048
ROOT_YEARS, ISSUING_YEARS, SERVICE_YEARS = 20, 10, 5
BACKDATE = timedelta(minutes=5)  # tolerate clocks of verifiers a little behind ours

FILES = {"root": "pki/root.p12", "issuing": "pki/issuing.p12", "ocsp": "pki/ocsp.p12", "tsa": "pki/tsa.p12"}


def crl_url(settings: Settings) -> str:
    return f"{settings.base_url}/pki/crl"


def root_crl_url(settings: Settings) -> str:
    return f"{settings.base_url}/pki/root.crl"


def ocsp_url(settings: Settings) -> str:
    return f"{settings.base_url}/pki/ocsp"


def ca_issuers_url(settings: Settings) -> str:
    return f"{settings.base_url}/pki/ca.pem"


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def normalise_serial(text: str) -> str:
    """Accept ``0A:1B``, ``0x0a1b``, ``A1B``: return the lowercase hex we store."""
    cleaned = text.strip().lower().replace(":", "").replace(" ", "")
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return serial_hex(int(cleaned, 16))
    except ValueError:
        raise ValueError(_l("%(serial)r is not a hexadecimal serial number", serial=text)) from None


def issuer_public_key(cert: x509.Certificate) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """The key of one of our issuers (RSA or EC, as ``keystore.PrivateKey``)."""
    key = cert.public_key()
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise ValueError(f"unsupported issuer key type {type(key).__name__}")
    return key


def new_rsa_key(bits: int = LEAF_KEY_BITS) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(cn: str, *, o: str | None = None, title: str | None = None,
         org_id: str | None = None, country: str = "VN") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if org_id:
        attrs.append(x509.NameAttribute(ORGANIZATION_IDENTIFIER, org_id))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _key_usage(**flags: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _revocation_pointers(builder: x509.CertificateBuilder, settings: Settings, *,
                         crl: str, with_ocsp: bool) -> x509.CertificateBuilder:
    builder = builder.add_extension(x509.CRLDistributionPoints([
        x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier(crl)], relative_name=None,
                               reasons=None, crl_issuer=None)
    ]), critical=False)
    access = [x509.AccessDescription(x509.AuthorityInformationAccessOID.CA_ISSUERS,
                                     x509.UniformResourceIdentifier(ca_issuers_url(settings)))]
    if with_ocsp:
        access.insert(0, x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP,
                                                x509.UniformResourceIdentifier(ocsp_url(settings))))
    return builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)


def build_certificate(*, subject: x509.Name, public_key: CertificatePublicKeyTypes,
                      issuer_cert: x509.Certificate | None, issuer_key: PrivateKey, days: int,
                      extensions: list[tuple[x509.ExtensionType, bool]],
                      settings: Settings | None = None, crl: str | None = None, with_ocsp: bool = False,
                      now: datetime | None = None) -> x509.Certificate:
    now = now or datetime.now(timezone.utc)
    not_after = now + timedelta(days=days)
    if issuer_cert is not None:  # a certificate never outlives its issuer
        not_after = min(not_after, issuer_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key(issuer_cert)), critical=False)
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    if settings is not None and crl is not None:
        builder = _revocation_pointers(builder, settings, crl=crl, with_ocsp=with_ocsp)
    return builder.sign(issuer_key, hashes.SHA256())


def leaf_extensions() -> list[tuple[x509.ExtensionType, bool]]:
    """Signing certificates: digitalSignature + nonRepudiation (PAdES B-LT wants both)."""
    return [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_key_usage(digital_signature=True, content_commitment=True), True),
    ]


@dataclass(frozen=True)
class DevPKI:
    root: x509.Certificate
    issuing: x509.Certificate
    ocsp: x509.Certificate
    tsa: x509.Certificate
    root_key: PrivateKey = field(repr=False)
    issuing_key: PrivateKey = field(repr=False)
    ocsp_key: PrivateKey = field(repr=False)
    tsa_key: PrivateKey = field(repr=False)

    @property
    def root_asn1(self) -> asn1_x509.Certificate:
        return to_asn1_cert(self.root)

    @property
    def issuing_asn1(self) -> asn1_x509.Certificate:
        return to_asn1_cert(self.issuing)

    @property
    def tsa_asn1(self) -> asn1_x509.Certificate:
        return to_asn1_cert(self.tsa)

    def chain_pem(self) -> bytes:
        """Issuing CA then root: what ``/pki/ca.pem`` serves and caIssuers points at."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.issuing, self.root))


def _make(settings: Settings) -> DevPKI:
    root_key = new_rsa_key(CA_KEY_BITS)
    root = build_certificate(
        subject=name("lienthong Dev Root CA", o="lienthong – Môi trường phát triển"),
        public_key=root_key.public_key(), issuer_cert=None, issuer_key=root_key, days=365 * ROOT_YEARS,
        extensions=[(x509.BasicConstraints(ca=True, path_length=1), True),
                    (_key_usage(key_cert_sign=True, crl_sign=True), True)])
    issuing_key = new_rsa_key(CA_KEY_BITS)
    # The issuing CA's own status comes from the root's CRL (the OCSP responder is
    # delegated by the issuing CA and may only speak for what that CA issued).
    issuing = build_certificate(
        subject=name("lienthong Dev Issuing CA", o="lienthong – Môi trường phát triển"),
        public_key=issuing_key.public_key(), issuer_cert=root, issuer_key=root_key, days=365 * ISSUING_YEARS,
        extensions=[(x509.BasicConstraints(ca=True, path_length=0), True),
                    (_key_usage(key_cert_sign=True, crl_sign=True), True)],
        settings=settings, crl=root_crl_url(settings), with_ocsp=False)
    ocsp_key = new_rsa_key()
    ocsp = build_certificate(
        subject=name("lienthong Dev OCSP Responder", o="lienthong – Môi trường phát triển"),
        public_key=ocsp_key.public_key(), issuer_cert=issuing, issuer_key=issuing_key, days=365 * SERVICE_YEARS,
        extensions=[(x509.BasicConstraints(ca=False, path_length=None), True),
                    (_key_usage(digital_signature=True), True),
                    (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False),
                    (x509.OCSPNoCheck(), False)])
    tsa_key = new_rsa_key()  # pyHanko's DummyTimeStamper signs with RSA only
    tsa = build_certificate(
        subject=name("lienthong Dev TSA", o="lienthong – Môi trường phát triển"),
        public_key=tsa_key.public_key(), issuer_cert=issuing, issuer_key=issuing_key, days=365 * SERVICE_YEARS,
        extensions=[(x509.BasicConstraints(ca=False, path_length=None), True),
                    (_key_usage(digital_signature=True, content_commitment=True), True),
                    (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)],
        settings=settings, crl=crl_url(settings), with_ocsp=True)
    return DevPKI(root=root, issuing=issuing, ocsp=ocsp, tsa=tsa, root_key=root_key,
                  issuing_key=issuing_key, ocsp_key=ocsp_key, tsa_key=tsa_key)


def _save(settings: Settings, pki: DevPKI) -> None:
    # The root goes last: its presence marks a complete PKI.
    for role in ("issuing", "ocsp", "tsa", "root"):
        save_p12(settings, FILES[role], f"lienthong-{role}", getattr(pki, f"{role}_key"), getattr(pki, role))
    (pki_dir(settings) / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    (pki_dir(settings) / "ca.pem").write_bytes(pki.chain_pem())


def _load(settings: Settings) -> DevPKI:
    (root_key, root), (issuing_key, issuing), (ocsp_key, ocsp), (tsa_key, tsa) = (
        open_p12(settings, FILES[role]) for role in ("root", "issuing", "ocsp", "tsa"))
    return DevPKI(root=root, issuing=issuing, ocsp=ocsp, tsa=tsa, root_key=root_key,
                  issuing_key=issuing_key, ocsp_key=ocsp_key, tsa_key=tsa_key)


def is_initialised(settings: Settings) -> bool:
    return (settings.data_dir / FILES["root"]).exists()


@contextmanager
def _init_lock(settings: Settings) -> Iterator[None]:
    """Several workers may start at once: one makes the PKI, the others wait and load it."""
    folder = pki_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".init.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_cache: dict[Path, DevPKI] = {}
_cache_lock = threading.Lock()


def init_dev_pki(settings: Settings) -> tuple[DevPKI, bool]:
    """Make the development PKI unless it exists. Returns (pki, created)."""
    with _init_lock(settings):
        created = not is_initialised(settings)
        if created:
            pki = _make(settings)
            _save(settings, pki)
        else:
            pki = _load(settings)
    with _cache_lock:
        _cache[settings.data_dir.resolve()] = pki
    return pki, created


def load_dev_pki(settings: Settings) -> DevPKI:
    """The development PKI, loaded once per process (made on first use if missing)."""
    key = settings.data_dir.resolve()
    pki = _cache.get(key)
    if pki is not None:
        return pki
    with _cache_lock:
        pki = _cache.get(key)
        if pki is not None:
            return pki
    pki, _ = init_dev_pki(settings)
    return pki


def forget_cached_pki() -> None:
    """For tests that rebuild a data folder in the same process."""
    with _cache_lock:
        _cache.clear()
