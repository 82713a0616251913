"""Secrets the service must read back — a webhook's signing key — kept sealed in the database:
AES-256-GCM under a key derived (HKDF-SHA256) from the deployment's ``secret_key``, so a copy of
the database or a backup alone does not give them away (a token or a password is only hashed:
nothing needs to read those back).

A webhook secret is ``whsec_`` + 43 URL-safe characters; what is sealed is the 43 characters
(the prefix is known), so the stored text (``v1:`` + nonce, ciphertext and tag in base64url,
98 characters) fits the column it always had.
"""
from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "v1:"
NONCE_BYTES = 12


class SecretBox:
    """Seals and opens the secrets of one ``purpose`` (the purpose is bound into the key and
    into each seal: a value sealed for one purpose does not open as another)."""

    def __init__(self, secret_key: bytes, purpose: str) -> None:
        self._purpose = purpose.encode("utf-8")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"lienthong sealed secrets: " + self._purpose).derive(secret_key)
        self._aead = AESGCM(key)

    def seal(self, plain: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain.encode("utf-8"), self._purpose)
        return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, stored: str) -> str:
        """The plain secret; ``cryptography.exceptions.InvalidTag`` if the value was changed
        or sealed under another key or purpose."""
        if not stored.startswith(SEALED_PREFIX):
            raise ValueError("not a sealed secret")
        raw = stored[len(SEALED_PREFIX):]
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        return self._aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], self._purpose).decode("utf-8")
