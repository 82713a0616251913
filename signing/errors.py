"""Why signing refused: plain exceptions of the shared ``errors`` family (no HTTP here; the
web layer maps each kind to a status)."""
from __future__ import annotations

from errors import Conflict, ErrorCode, ServiceUnavailable, Unprocessable


class SealRefused(Conflict):
    """The agency seal needs an intact person signature of the same agency first."""
    code = ErrorCode.SEAL_REFUSED


class DocumentLocked(Conflict):
    """The document is certified with DocMDP P=1 (no changes allowed)."""
    code = ErrorCode.DOCUMENT_LOCKED


class SigningFailed(Unprocessable):
    """The credential or the document is at fault (e.g. a revoked certificate)."""
    code = ErrorCode.SIGNING_FAILED


class TimestampUnavailable(ServiceUnavailable):
    """No time-stamp authority answers (or none is configured)."""
    code = ErrorCode.TIMESTAMP_UNAVAILABLE


class RevocationUnavailable(ServiceUnavailable):
    """No OCSP responder or CRL answers (or revocation checking is not configured)."""
    code = ErrorCode.REVOCATION_UNAVAILABLE


__all__ = ["DocumentLocked", "RevocationUnavailable", "SealRefused", "SigningFailed", "TimestampUnavailable",
           "Unprocessable"]
