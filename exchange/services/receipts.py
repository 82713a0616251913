"""Delivery receipts signed by the service: JSON plus a detached JWS (ES256, RFC 7515 App. F).

The receipt is a JSON object; its ``signature`` member is a compact JWS whose payload part is
left empty. To verify one (any JOSE library, or by hand):

1. remove ``signature`` from the receipt, serialise the rest as canonical JSON (keys sorted,
   separators ``,`` and ``:``, UTF-8, no ASCII escaping);
2. ``payload = base64url(canonical)`` without padding; rebuild ``header + "." + payload + "." + sig``
   from ``signature = header + ".." + sig``;
3. check that JWS with the service's public key, published at ``GET /api/v1/receipts/key``
   (JWK and PEM) and matched by the header's ``kid``.

The key is an ECDSA P-256 key derived from 32 random bytes kept in ``<data dir>/receipt_key``
(mode 0600, created once); it is never logged or returned.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from settings import load_or_create_secret

KEY_FILE = "receipt_key"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
RECEIPT_TYPE = "lienthong.receipt.v1"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class ReceiptKey:
    private: ec.EllipticCurvePrivateKey

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        return self.private.public_key()

    @property
    def jwk(self) -> dict[str, str]:
        numbers = self.public.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x.to_bytes(32, "big")),
                "y": _b64(numbers.y.to_bytes(32, "big")), "use": "sig", "alg": "ES256"}

    @property
    def kid(self) -> str:
        # RFC 7638 thumbprint
        jwk = self.jwk
        members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
        return _b64(hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest())

    @property
    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def sign(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return ``body`` with its detached ``signature``."""
        header = _b64(canonical({"alg": "ES256", "kid": self.kid, "typ": "JOSE"}))
        signing_input = f"{header}.{_b64(canonical(body))}".encode("ascii")
        r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return {**body, "signature": f"{header}..{sig}"}


def verify(receipt: dict[str, Any], public: ec.EllipticCurvePublicKey) -> bool:
    """True when ``receipt``'s detached JWS is valid for ``public``."""
    body = {k: v for k, v in receipt.items() if k != "signature"}
    try:
        header, empty, sig = str(receipt.get("signature", "")).split(".")
        if empty or json.loads(_unb64(header)).get("alg") != "ES256":
            return False
        raw = _unb64(sig)
        if len(raw) != 64:
            return False
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, f"{header}.{_b64(canonical(body))}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
        return True
    except (ValueError, InvalidSignature):
        return False


HOW_TO_VERIFY = (
    "Remove `signature` from the receipt; serialise the rest as canonical JSON (keys sorted, separators "
    "',' and ':', UTF-8, no ASCII escaping); base64url it without padding; put it between the two dots of "
    "`signature` (a compact JWS with a detached payload, RFC 7515 appendix F) and verify that JWS (ES256) "
    "with this key."
)

def load_or_create_key(data_dir: Path) -> ReceiptKey:
    """The service's receipt key, derived from a 32-byte secret created (0600) on first use;
    two processes starting at once agree on one secret (``settings.load_or_create_secret``).
    Loaded once, at start-up (``bootstrap.build``)."""
    secret = load_or_create_secret((data_dir / KEY_FILE).resolve(), 32)
    scalar = int.from_bytes(secret[:32], "big") % (_P256_ORDER - 1) + 1
    return ReceiptKey(ec.derive_private_key(scalar, ec.SECP256R1()))


def key_view(key: ReceiptKey) -> dict[str, Any]:
    """What ``GET /api/v1/receipts/key`` publishes."""
    return {"kid": key.kid, "alg": "ES256", "jwk": {**key.jwk, "kid": key.kid}, "pem": key.public_pem,
            "how_to_verify": HOW_TO_VERIFY}
