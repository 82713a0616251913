"""The errors every package raises, and the one list of codes clients may rely on.

Services and libraries raise a :class:`ServiceError` subclass; the class says what kind of
refusal it is (not found, conflict, invalid input, …) and ``code`` names the exact
condition, one code per condition. Nothing here knows HTTP: ``exchange.http.errors`` maps
the kinds to status codes and renders ``{"error": {"code", "message", "fields"?}}``.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any, Mapping


class ErrorCode(StrEnum):
    """Every ``error.code`` the service answers with (listed in the OpenAPI document)."""

    # the request itself
    BAD_REQUEST = "bad_request"
    INVALID = "invalid"
    CSRF_FAILED = "csrf_failed"  # a cookie-authenticated change without its CSRF token
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    TOO_MANY_REQUESTS = "too_many_requests"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    UNKNOWN_PARAMETER = "unknown_parameter"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    # the service's own parts
    INTERNAL_ERROR = "internal_error"
    DATABASE_UNAVAILABLE = "database_unavailable"
    SCHEMA_NOT_MIGRATED = "schema_not_migrated"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    STORAGE_CORRUPTED = "storage_corrupted"
    STORAGE_FULL = "storage_full"  # no room left where blobs are written: 507
    STORAGE_MISSING = "storage_missing"  # the folder or bucket is gone while the database refers to blobs
    # files
    NOT_PDF = "not_pdf"
    PDF_DAMAGED = "pdf_damaged"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_TOO_COMPLEX = "pdf_too_complex"  # declares more structure or decode work than its size allows
    # documents and their lifecycle
    SECRET_REFUSED = "secret_refused"
    NO_REVISION = "no_revision"
    NOT_SEALED = "not_sealed"
    DOCUMENT_CLOSED = "document_closed"
    DOCUMENT_LOCKED = "document_locked"
    REVISION_CONFLICT = "revision_conflict"
    INVALID_TRANSITION = "invalid_transition"
    DIRECTORY_LOOP = "directory_loop"
    # routing: forwards, replacements
    OUTSIDE_SUBTREE = "outside_subtree"
    NOT_DISPATCHED = "not_dispatched"
    ALREADY_REPLACED = "already_replaced"
    REPLACE_REFUSED = "replace_refused"
    # registers (sổ văn bản đi / đến)
    NUMBER_TAKEN = "number_taken"
    NOT_REGISTERED = "not_registered"
    ALREADY_REGISTERED = "already_registered"
    NOT_SIGNED = "not_signed"
    EMPTY_FILE = "empty_file"
    ATTACHMENT_NAME_TAKEN = "attachment_name_taken"
    # signing
    SEAL_REFUSED = "seal_refused"
    ALREADY_SIGNED = "already_signed"  # the same official signing the same document again
    BOX_OUTSIDE_PAGE = "box_outside_page"
    SIGNING_FAILED = "signing_failed"
    NO_CREDENTIAL = "no_credential"
    CREDENTIAL_NOT_FOUND = "credential_not_found"
    CREDENTIAL_REVOKED = "credential_revoked"
    KEY_NOT_HELD = "key_not_held"
    CERTIFICATE_INVALID = "certificate_invalid"
    CERTIFICATE_UNTRUSTED = "certificate_untrusted"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_NOT_YOURS = "certificate_not_yours"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_COMPLETED = "session_completed"
    SESSION_EXPIRED = "session_expired"
    INVALID_SESSION = "invalid_session"
    BAD_SIGNATURE = "bad_signature"
    TIMESTAMP_UNAVAILABLE = "timestamp_unavailable"
    REVOCATION_UNAVAILABLE = "revocation_unavailable"
    # edXML (QCVN 102) packages
    EDXML_MALFORMED = "edxml_malformed"  # not well-formed XML
    EDXML_DTD_REFUSED = "edxml_dtd_refused"  # a DTD or entities: expansion (billion laughs), XXE
    EDXML_TOO_LARGE = "edxml_too_large"  # the package or one of its base64 parts over its cap
    EDXML_INVALID = "edxml_invalid"  # well-formed, but a required field is missing or wrong
    EDXML_UNKNOWN_STATUS = "edxml_unknown_status"
    EDXML_UNKNOWN_AGENCY = "edxml_unknown_agency"  # From or To not in the directory
    EDXML_NOT_ADDRESSED = "edxml_not_addressed"  # the caller's agency is not among To (or not From)
    EDXML_NO_PDF = "edxml_no_pdf"
    EDXML_UNSUPPORTED = "edxml_unsupported"  # a business type this service does not apply
    EDXML_UNKNOWN_DOCUMENT = "edxml_unknown_document"  # ResponseFor / the revoked document not found


class ServiceError(Exception):
    """A refusal: the request cannot be done as asked, and nothing was changed."""

    code: ErrorCode = ErrorCode.BAD_REQUEST

    retry_after: int | None = None  # seconds, when waiting cures it (the HTTP layer sends Retry-After)

    def __init__(self, message: Any, *, code: ErrorCode | None = None,
                 fields: Mapping[str, Any] | None = None, retry_after: int | None = None) -> None:
        super().__init__(str(message))
        if retry_after is not None:
            self.retry_after = retry_after
        self.message = message  # a str, or a translatable message rendered in the reader's language
        if code is not None:
            self.code = code
        self.fields = dict(fields) if fields else None


class BadRequest(ServiceError):
    code = ErrorCode.BAD_REQUEST


class Unauthorized(ServiceError):
    code = ErrorCode.UNAUTHORIZED


class Forbidden(ServiceError):
    code = ErrorCode.FORBIDDEN


class NotFound(ServiceError):
    code = ErrorCode.NOT_FOUND


class Conflict(ServiceError):
    code = ErrorCode.CONFLICT


class Gone(ServiceError):
    """It existed and is over (an expired signing session)."""
    code = ErrorCode.SESSION_EXPIRED


class PayloadTooLarge(ServiceError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(ServiceError):
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class Unprocessable(ServiceError):
    code = ErrorCode.INVALID


class TooManyRequests(ServiceError):
    code = ErrorCode.TOO_MANY_REQUESTS


class ServiceUnavailable(ServiceError):
    """A service we depend on (TSA, OCSP, …) is not answering: try again later."""
    code = ErrorCode.REVOCATION_UNAVAILABLE
