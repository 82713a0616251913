"""Request and response shapes of the exchange API (marshmallow, through APIFlask), so that
the OpenAPI document describes every body, query and answer."""
from __future__ import annotations

import json

from apiflask import Schema
from marshmallow import ValidationError
from apiflask.fields import Boolean, Date, Dict, File, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from exchange.models import DOC_STATES, URGENCIES

# Every error the service returns, whatever the status (errors.py builds it).
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string", "example": "Dữ liệu không hợp lệ / invalid input"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "per-field messages (422)"},
            },
        }
    },
}


# --- session --------------------------------------------------------------------------

class LoginIn(Schema):
    username = String(required=True, validate=Length(1, 100))
    password = String(required=True, validate=Length(1, 1000), load_only=True)


class SessionOut(Schema):
    username = String()
    full_name = String()
    agency_code = String()
    roles = List(String())


# --- agencies -------------------------------------------------------------------------

class AgencyQuery(Schema):
    parent = String(validate=Length(1, 35), metadata={"description": "only the direct children of this code"})
    after = String(load_default="", validate=Length(0, 35), metadata={"description": "cursor: the last code seen"})
    limit = Integer(load_default=100, validate=Range(1, 1000))


class AgencyOut(Schema):
    code = String()
    name = String()
    short_name = String()
    level = String()
    parent_code = String(allow_none=True)
    successor_code = String(allow_none=True)
    valid_from = String(allow_none=True)
    valid_to = String(allow_none=True)


class AgencyList(Schema):
    items = List(Nested(AgencyOut))
    next_cursor = String(allow_none=True)


# --- audit ----------------------------------------------------------------------------

class AuditQuery(Schema):
    after = Integer(load_default=0, validate=Range(min=0))
    limit = Integer(load_default=100, validate=Range(1, 1000))


class AuditEventOut(Schema):
    seq = Integer()
    at = String()
    actor = String()
    agency_code = String()
    action = String()
    object = String()
    details = Dict()
    prev_hash = String()
    hash = String()


class AuditList(Schema):
    items = List(Nested(AuditEventOut))
    next_cursor = Integer(allow_none=True)


class ChainCheckOut(Schema):
    ok = Boolean()
    checked = Integer()
    first_broken = Integer(allow_none=True)


# --- documents ------------------------------------------------------------------------

SECRET_LEVELS = ("secret", "top_secret", "absolute_secret")  # Mật, Tối mật, Tuyệt mật


class DocumentMetadataIn(Schema):
    """The ``metadata`` JSON part of an upload."""
    number = String(load_default="", validate=Length(0, 30))
    notation = String(load_default="", validate=Length(0, 100))
    doc_type = String(required=True, validate=Length(1, 100))
    subject = String(required=True, validate=Length(1, 2000))
    urgency = String(load_default="normal", validate=OneOf(URGENCIES))
    confidentiality = String(load_default="normal", validate=OneOf(("normal",) + SECRET_LEVELS))
    issued_on = Date(load_default=None, allow_none=True)
    place = String(load_default="", validate=Length(0, 255))
    signer_name = String(load_default="", validate=Length(0, 255))
    signer_position = String(load_default="", validate=Length(0, 255))
    due_on = Date(load_default=None, allow_none=True)
    reply_to = Integer(load_default=None, allow_none=True, validate=Range(min=1))


class JSONNested(Nested):
    """A multipart form part holding a JSON object, validated like a nested schema (so the
    OpenAPI document shows its fields, and errors name them: ``metadata.urgency``)."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValidationError(f"JSON không hợp lệ / invalid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValidationError("phải là một đối tượng JSON / must be a JSON object")
        return super()._deserialize(value, attr, data, **kwargs)


class UploadIn(Schema):
    file = File(required=True, metadata={"description": "the PDF"})
    metadata = JSONNested(DocumentMetadataIn, required=True,
                          metadata={"description": "JSON object (a form part of type application/json)"})


class RevisionOut(Schema):
    seq = Integer()
    sha256 = String()
    size = Integer()
    kind = String()
    profile = String(allow_none=True)
    level = String(allow_none=True)
    created_at = String()
    content_url = String()


class DocumentOut(Schema):
    id = Integer()
    issuer = String(metadata={"description": "issuer agency code"})
    number = String()
    notation = String()
    doc_type = String()
    subject = String()
    urgency = String()
    confidentiality = String()
    issued_on = String(allow_none=True)
    place = String()
    signer_name = String()
    signer_position = String()
    due_on = String(allow_none=True)
    reply_to = Integer(allow_none=True)
    state = String()
    sha256 = String(metadata={"description": "SHA-256 of the latest revision"})
    created_at = String()
    revisions = List(Nested(RevisionOut))


class DocumentQuery(Schema):
    state = String(validate=OneOf(DOC_STATES))
    after = Integer(load_default=0, validate=Range(min=0))
    limit = Integer(load_default=50, validate=Range(1, 500))


class DocumentList(Schema):
    items = List(Nested(DocumentOut))
    next_cursor = Integer(allow_none=True)


class ContentQuery(Schema):
    revision = Integer(validate=Range(min=1))


class VerifyIn(Schema):
    file = File(required=True, metadata={"description": "any PDF, stored here or not"})
