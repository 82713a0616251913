"""certs: the PKI — development CA, credential stores (PKCS#12, PKCS#11), trust store, CRL / OCSP / RFC 3161 responders."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's blueprints and `flask` commands."""
