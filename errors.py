"""Typed errors shared by every package, and the one place that maps them to HTTP.

Services raise these; handlers never build error responses by hand. Every error reaches
the client as ``{"error": {"code", "message", "fields"?}}`` — and no 500 shows a traceback.
"""
from __future__ import annotations

from typing import Mapping

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


class ServiceError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None,
                 fields: Mapping[str, str] | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = dict(fields) if fields else None


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class PayloadTooLarge(ServiceError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(ServiceError):
    status, code = 422, "invalid"


class TooManyRequests(ServiceError):
    status, code = 429, "too_many_requests"


class ServiceUnavailable(ServiceError):
    status, code = 503, "unavailable"


def error_body(code: str, message: str, fields: Mapping[str, str] | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if fields:
        error["fields"] = dict(fields)
    return {"error": error}


def validation_fields(detail: Mapping) -> dict[str, str]:
    """Flatten APIFlask/marshmallow's ``{"json": {"field": ["msg"]}}`` into ``{"field": "msg"}``."""
    fields: dict[str, str] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, (list, tuple)):
            fields[prefix or "_"] = "; ".join(str(v) for v in value)
        else:
            fields[prefix or "_"] = str(value)

    for _location, per_location in (detail or {}).items():
        walk("", per_location)
    return fields


def invalid_input(detail: Mapping) -> Unprocessable:
    """The 422 for marshmallow-style ``{location: {field: [messages]}}`` errors."""
    return Unprocessable("Dữ liệu không hợp lệ / invalid input", fields=validation_fields(detail))


def register_error_handlers(app: Flask) -> None:
    from storage.blobs import BlobCorrupted, BlobNotFound, BlobStoreUnavailable
    from storage.db import DatabaseUnavailable
    from sqlalchemy.exc import OperationalError

    if hasattr(app, "error_processor"):  # APIFlask: request validation and abort()
        @app.error_processor
        def _apiflask_error(err):  # type: ignore[no-untyped-def]
            if err.status_code == 422 or (err.status_code == 400 and err.detail):
                invalid = invalid_input(err.detail)
                return error_body(invalid.code, invalid.message, invalid.fields), 422, err.headers
            code = (err.message or "error").lower().replace(" ", "_")
            return error_body(code, err.message or "error"), err.status_code, err.headers

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):  # type: ignore[no-untyped-def]
        return jsonify(error_body(exc.code, exc.message, exc.fields)), exc.status

    @app.errorhandler(BlobStoreUnavailable)
    def _blob_store_down(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.error("blob store unavailable: %s", exc)
        return jsonify(error_body("storage_unavailable", "The document store is not answering; try again later.")), 503

    @app.errorhandler(BlobCorrupted)
    def _blob_corrupted(exc: Exception):  # type: ignore[no-untyped-def]
        # Integrity failure of our own storage: never serve the bytes; operators must restore.
        app.logger.critical("stored blob failed its hash check: %s", exc)
        return jsonify(error_body(
            "storage_corrupted",
            "Tệp lưu trữ bị hỏng, không thể cung cấp; quản trị viên đã được báo. / "
            "The stored file failed its integrity check and is withheld; the operators were told.")), 503

    @app.errorhandler(BlobNotFound)
    def _blob_missing(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.error("blob missing: %s", exc)
        return jsonify(error_body("storage_unavailable", "The stored file is missing; the operators were told.")), 503

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(OperationalError)
    def _database_down(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.error("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return jsonify(error_body("database_unavailable", "The database is not answering; try again later.")), 503

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify(error_body(code, exc.description or exc.name or "error"))
        response.status_code = exc.code or 500
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error")
        return jsonify(error_body("internal_error", "An unexpected error occurred; it has been logged.")), 500
