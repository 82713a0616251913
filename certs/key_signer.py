"""The signer for a key held in this process (a PKCS#12 file), in its own module so that
``certs.keystore`` — which every ``flask`` command reaches — does not load pyHanko."""
from __future__ import annotations

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certs.keystore import PrivateKey


class CachedKeySigner(SimpleSigner):
    """``SimpleSigner`` holding the parsed key object instead of re-loading it per call."""

    def __init__(self, key: PrivateKey, signing_cert: asn1_x509.Certificate,
                 chain: list[asn1_x509.Certificate]) -> None:
        self._key = key
        # SimpleSigner wants the PKCS#8 structure; it is only used by the fallback path.
        info = asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        )
        super().__init__(signing_cert=signing_cert, signing_key=info,
                         cert_registry=SimpleCertificateStore.from_certs(chain))

    def __repr__(self) -> str:
        cert = self.signing_cert
        return f"CachedKeySigner({cert.subject.human_friendly if cert is not None else None!r})"

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism_spec = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            mechanism = mechanism_spec.signature_algo
        except ValueError:
            mechanism = mechanism_spec["algorithm"].native
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        key = self._key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hash_algo)
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hash_algo))
        return super().sign_raw(data, digest_algorithm)
