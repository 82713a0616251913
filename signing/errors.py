"""Signing errors; each maps to an HTTP status through the shared ``errors`` module."""
from __future__ import annotations

from errors import Conflict, ServiceError, Unprocessable


class SealRefused(Conflict):
    """409: the agency seal needs an intact person signature of the same agency first."""
    code = "seal_refused"


class DocumentLocked(Conflict):
    """409: the document is certified with DocMDP P=1 (no changes allowed)."""
    code = "document_locked"


class SigningFailed(ServiceError):
    """422 (the credential or the document is at fault, e.g. a revoked certificate) or
    503 (a service we depend on, e.g. OCSP or the TSA, is not answering)."""
    status, code = 422, "signing_failed"


__all__ = ["DocumentLocked", "SealRefused", "SigningFailed", "Unprocessable"]
