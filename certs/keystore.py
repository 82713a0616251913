"""Where private keys live: PKCS#12 files encrypted with the data folder's storage key,
or a PKCS#11 token. Keys are loaded once per process and kept as objects, because
re-parsing them per signature costs ~43 ms (PYHANKO-NOTES pitfall 1).
"""
from __future__ import annotations

import asyncio
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from settings import ConfigError, Settings, load_or_create_secret

if TYPE_CHECKING:
    from pyhanko.sign.pkcs11 import PKCS11Signer

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class KeyStoreError(RuntimeError):
    """A key could not be stored or loaded (wrong storage key, missing token, ...)."""


def pki_dir(settings: Settings) -> Path:
    return settings.data_dir / "pki"


def storage_key(settings: Settings) -> bytes:
    """The password of every PKCS#12 file we write: 32 random bytes made once, mode 0600."""
    try:
        raw = load_or_create_secret(pki_dir(settings) / ".storage_key")
    except ConfigError as exc:  # read while signing, not at start-up: a key store fault, not a setting
        raise KeyStoreError(exc.message) from None
    return raw.hex().encode("ascii")


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with mode 0600 (the content is encrypted, but still ours only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def dump_pkcs12(name: str, key: PrivateKey, cert: x509.Certificate, password: bytes,
                chain: list[x509.Certificate] | None = None) -> bytes:
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, chain or None, encryption)


def load_pkcs12(data: bytes, password: bytes | None) -> tuple[PrivateKey, x509.Certificate, list[x509.Certificate]]:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        # The message from cryptography names no secret; keep it short.
        raise KeyStoreError(f"cannot open the PKCS#12 data: {exc}") from None
    if key is None or cert is None:
        raise KeyStoreError("the PKCS#12 data holds no private key and certificate")
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyStoreError("only RSA and ECDSA keys are supported")
    return key, cert, list(extra or [])


def save_p12(settings: Settings, relpath: str, name: str, key: PrivateKey, cert: x509.Certificate) -> None:
    write_private(settings.data_dir / relpath, dump_pkcs12(name, key, cert, storage_key(settings)))


def open_p12(settings: Settings, relpath: str) -> tuple[PrivateKey, x509.Certificate]:
    path = settings.data_dir / relpath
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyStoreError(f"cannot read {path}: {exc.strerror}") from None
    key, cert, _ = load_pkcs12(data, storage_key(settings))
    return key, cert


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


# --- PKCS#11 ---------------------------------------------------------------------------

_p11_lock = threading.Lock()
_p11_sessions: dict[tuple[str, str], Any] = {}
_p11_generation = 0  # bumped when the library is re-initialised: older sessions are gone


def pkcs11_generation() -> int:
    return _p11_generation


def pkcs11_configured(settings: Settings) -> bool:
    return bool(settings.pkcs11_lib)


def pkcs11_session(settings: Settings) -> Any:
    """One read-write, logged-in session per (library, token) per process.

    PKCS#11 forbids concurrent operations on one session: signers share it under
    ``pkcs11_operation_lock``.
    """
    global _p11_generation
    if not settings.pkcs11_lib:
        raise KeyStoreError("LIENTHONG_PKCS11_LIB is not set")
    cache_key = (settings.pkcs11_lib, settings.pkcs11_token_label)
    with _p11_lock:
        session = _p11_sessions.get(cache_key)
        if session is not None:
            return session
        import pkcs11

        try:
            lib = pkcs11.lib(settings.pkcs11_lib)
            try:
                token = lib.get_token(token_label=settings.pkcs11_token_label)
            except pkcs11.NoSuchToken:
                # A token initialised after the library was loaded (softhsm2-util while we
                # run) is seen only after re-initialising, which closes our older sessions.
                _p11_sessions.clear()
                _p11_generation += 1
                lib.reinitialize()
                token = lib.get_token(token_label=settings.pkcs11_token_label)
            session = token.open(rw=True, user_pin=settings.pkcs11_pin)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            # Never include the PIN; name the token and the error class only.
            raise KeyStoreError(
                f"cannot open PKCS#11 token {settings.pkcs11_token_label!r}: {type(exc).__name__}"
            ) from None
        _p11_sessions[cache_key] = session
        return session


pkcs11_operation_lock = threading.RLock()


@dataclass(frozen=True)
class TokenKey:
    label: str
    key_id: bytes
    public_key: rsa.RSAPublicKey


def pkcs11_generate_rsa(settings: Settings, label: str, bits: int = 2048) -> TokenKey:
    """Generate an RSA key pair inside the token: sensitive, never extractable."""
    from pkcs11 import Attribute, KeyType, MechanismFlag  # noqa: F401
    from pkcs11.util.rsa import encode_rsa_public_key

    session = pkcs11_session(settings)
    key_id = secrets.token_bytes(16)
    with pkcs11_operation_lock:
        pub, _priv = session.generate_keypair(
            KeyType.RSA, bits, label=label, id=key_id, store=True,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                              Attribute.SIGN: True, Attribute.PRIVATE: True},
            public_template={Attribute.VERIFY: True},
        )
        pkcs1 = encode_rsa_public_key(pub)
    public = serialization.load_der_public_key(
        asn1_keys.PublicKeyInfo({"algorithm": {"algorithm": "rsa"},
                                 "public_key": asn1_keys.RSAPublicKey.load(pkcs1)}).dump()
    )
    assert isinstance(public, rsa.RSAPublicKey)
    return TokenKey(label=label, key_id=key_id, public_key=public)


def pkcs11_store_certificate(settings: Settings, label: str, key_id: bytes, cert: x509.Certificate) -> None:
    from pkcs11 import Attribute, CertificateType, ObjectClass

    session = pkcs11_session(settings)
    with pkcs11_operation_lock:
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.ID: key_id,
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
        })


def pkcs11_signer(settings: Settings, key_label: str, signing_cert: asn1_x509.Certificate,
                  chain: list[asn1_x509.Certificate]) -> PKCS11Signer:
    """A pyHanko PKCS#11 signer on the shared session, its objects looked up once."""
    from pyhanko.sign.pkcs11 import PKCS11Signer

    class LockedPKCS11Signer(PKCS11Signer):
        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
            if dry_run:
                return self.estimate_raw_signature_size_bytes() * b"0"
            spec = self._select_pkcs11_signing_params(digest_algorithm, sign_kwargs=self.sign_kwargs(data))
            payload = spec.pre_sign_transform(data) if spec.pre_sign_transform else data
            key = self._key_handle
            assert key is not None  # loaded once, below, before the signer is handed out

            def perform() -> bytes:
                with pkcs11_operation_lock:
                    signature = key.sign(payload, **spec.sign_kwargs)
                return spec.post_sign_transform(signature) if spec.post_sign_transform else signature

            return await asyncio.get_running_loop().run_in_executor(None, perform)

    session = pkcs11_session(settings)
    signer = LockedPKCS11Signer(session, signing_cert=signing_cert, key_label=key_label,
                                ca_chain=chain, other_certs_to_pull=())
    try:
        with pkcs11_operation_lock:
            signer._load_objects()  # the key handle, once, instead of lazily inside a signing call
    except Exception as exc:  # pyHanko raises PKCS11Error / SigningError here
        raise KeyStoreError(f"no usable key labelled {key_label!r} in the PKCS#11 token: {exc}") from None
    return signer
