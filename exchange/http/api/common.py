"""What several API areas share: the document's shape, the fast query loader, the answer
headers of a PDF."""
from __future__ import annotations

import functools
from typing import Any, Callable

from apiflask import APIBlueprint, Schema
from apiflask.fields import List, Nested
from apiflask.validators import Range
from flask import request
from marshmallow import EXCLUDE, ValidationError

from exchange.http.errors import invalid_input
from exchange.services.input_rules import Integer, String


class RevisionOut(Schema):
    seq = Integer()
    sha256 = String()
    size = Integer()
    kind = String()
    profile = String(allow_none=True)
    level = String(allow_none=True)
    created_at = String(metadata={"description": "RFC 3339, UTC"})
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
    created_at = String(metadata={"description": "RFC 3339, UTC"})
    revisions = List(Nested(RevisionOut))


class ContentQuery(Schema):
    revision = Integer(validate=Range(min=1))


def query_input(bp: APIBlueprint, schema_cls: type[Schema], arg_name: str = "query") -> Callable[[Any], Any]:
    """Like ``@bp.input(schema, location="query")`` (same OpenAPI description, same 422), but
    loads ``request.args`` with the schema directly: webargs' machinery costs more than an
    empty inbox poll itself, the endpoint agencies call most."""
    schema = schema_cls()

    def decorate(view: Any) -> Any:
        described = bp.input(schema_cls, location="query", arg_name=arg_name)(view)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                kwargs[arg_name] = schema.load(request.args.to_dict(), unknown=EXCLUDE)
            except ValidationError as exc:
                raise invalid_input({"query": exc.messages}) from None
            return view(*args, **kwargs)

        wrapper._spec = described._spec  # type: ignore[attr-defined]  # APIFlask reads a view's OpenAPI from _spec
        return wrapper

    return decorate


# Any: in @bp.doc(responses=...) these sit beside plain descriptions, a mix APIFlask handles
# but its ResponsesType cannot express.
PDF_RESPONSE: Any
REPORT_RESPONSE: Any
PDF_RESPONSE = {"description": "the PDF (ETag = its SHA-256)",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
REPORT_RESPONSE = {"description": "verification report: JSON (`indication`, `signatures`, ...) or HTML",
                   "content": {"application/json": {"schema": {"type": "object"}},
                               "text/html": {"schema": {"type": "string"}}}}
