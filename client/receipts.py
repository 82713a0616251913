"""Checking a transport receipt: JSON whose ``signature`` is a compact JWS (ES256) with a
detached payload (RFC 7515 appendix F), over the canonical JSON of the rest of the receipt
(keys sorted, separators ``,`` and ``:``, UTF-8), with the key the server publishes at
``GET /api/v1/receipts/key`` (matched by ``kid``). The JWS itself is checked by ``joserfc``."""
from __future__ import annotations

import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey


class ReceiptInvalid(Exception):
    """The receipt is not signed by the key given, or says something else than expected."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verify(receipt: dict[str, Any], key: dict[str, Any], **expected: Any) -> None:
    """Raises :class:`ReceiptInvalid` unless ``receipt`` is signed by ``key`` (the answer of
    ``/api/v1/receipts/key``) and holds each ``expected`` member (e.g. ``delivery_id=7``)."""
    signature = receipt.get("signature")
    if not isinstance(signature, str) or signature.count(".") != 2:
        raise ReceiptInvalid("no detached JWS in `signature`")
    body = {k: v for k, v in receipt.items() if k != "signature"}
    try:
        public = ECKey.import_key(key["jwk"])
        token = jws.deserialize_compact(signature, public, algorithms=["ES256"], payload=canonical(body))
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise ReceiptInvalid(f"signature does not verify: {error}") from None
    kid = token.headers().get("kid")
    if kid is not None and key.get("kid") is not None and kid != key["kid"]:
        raise ReceiptInvalid(f"signed by key {kid}, not {key['kid']}")
    for name, value in expected.items():
        if body.get(name) != value:
            raise ReceiptInvalid(f"{name} is {body.get(name)!r}, expected {value!r}")
