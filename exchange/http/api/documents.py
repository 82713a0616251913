"""``/api/v1/documents``: upload, list, read, download."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from apiflask import APIBlueprint, Schema
from apiflask.fields import File, List, Nested
from apiflask.validators import OneOf, Range
from flask import Response, request
from marshmallow import ValidationError
from marshmallow.types import StrSequenceOrSet

from exchange.domain.enums import DocumentState, Role, values
from exchange.http.api.common import PDF_RESPONSE, ContentQuery, DocumentOut
from exchange.http.auth import caller_required, current_caller, services
from exchange.http.idempotency import idempotent
from exchange.services import documents
from exchange.services.documents import DocumentMetadataIn
from exchange.services.input_rules import Integer, String, strict_json_loads
from translations import _l

bp = APIBlueprint("api_documents", __name__, url_prefix="/api/v1", tag="documents")


class JSONNested(Nested):
    """A multipart form part holding a JSON object, validated like a nested schema (so the
    OpenAPI document shows its fields, and errors name them: ``metadata.urgency``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     partial: bool | StrSequenceOrSet | None = None, **kwargs: Any) -> Any:
        if isinstance(value, (str, bytes)):
            try:
                value = strict_json_loads(value)
            except ValueError as exc:
                raise ValidationError([_l("invalid JSON: %(error)s", error=str(exc))]) from None
        if not isinstance(value, dict):
            raise ValidationError([_l("must be a JSON object")])
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


class UploadIn(Schema):
    file = File(required=True, metadata={"description": "the PDF"})
    metadata = JSONNested(DocumentMetadataIn, required=True,
                          metadata={"description": "JSON object (a form part of type application/json)"})


class DocumentQuery(Schema):
    state = String(validate=OneOf(values(DocumentState)))
    after = Integer(load_default=0, validate=Range(min=0))
    limit = Integer(load_default=50, validate=Range(1, 500))


class DocumentList(Schema):
    items = List(Nested(DocumentOut))
    next_cursor = Integer(allow_none=True)


@bp.post("/documents")
@caller_required(Role.CLERK)
@idempotent
@bp.input(UploadIn, location="form_and_files", arg_name="form")
@bp.output(DocumentOut, status_code=201)
@bp.doc(tags=["documents"], summary="Tải lên văn bản / upload a document (PDF + metadata)",
        description="Multipart: `file` (PDF) and `metadata` (JSON object, see DocumentMetadataIn). "
                    "Not a PDF → 415; encrypted or truncated → 422; over LIENTHONG_MAX_UPLOAD_MB → 413; "
                    "secret confidentiality levels → 422.",
        responses={413: "file too large", 415: "not a PDF"})
def post_document(form: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    body = documents.upload(services(), current_caller(), form["file"].stream, form["metadata"])
    return body, 201, {"Location": f"/api/v1/documents/{body['id']}"}


@bp.get("/documents")
@caller_required(allow_agency_system=True)
@bp.input(DocumentQuery, location="query", arg_name="query")
@bp.output(DocumentList)
@bp.doc(tags=["documents"], summary="Văn bản của cơ quan / the caller's agency's documents",
        description="Documents issued by the caller's agency, by id, after the cursor.")
def get_documents(query: dict[str, Any]) -> dict[str, Any]:
    return documents.documents_page(services(), current_caller(), state=query.get("state"), after=query["after"],
                                    limit=query["limit"])


@bp.get("/documents/<int:document_id>")
@caller_required(allow_agency_system=True)
@bp.output(DocumentOut)
@bp.doc(tags=["documents"], summary="Một văn bản / one document: metadata, revisions, state",
        description="Another agency's document answers 404, like a missing one; a recipient sees "
                    "the revisions dispatched to it.")
def get_document(document_id: int) -> dict[str, Any]:
    return documents.get_document(services(), current_caller(), document_id)


@bp.get("/documents/<int:document_id>/content")
@caller_required(allow_agency_system=True)
@bp.input(ContentQuery, location="query", arg_name="query")
@bp.doc(tags=["documents"], summary="Tệp PDF / the PDF of a revision (latest by default)",
        responses={200: PDF_RESPONSE, 304: "not modified (If-None-Match)"})
def get_document_content(document_id: int, query: dict[str, Any]) -> Response:
    content = documents.content(services(), current_caller(), document_id, query.get("revision"))
    etag = content.sha256
    if etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    chunks = content.chunks()
    first = next(chunks, b"")  # open (and fail: 503) before the status line is sent
    response = Response(_chain(first, chunks), mimetype="application/pdf")  # needs no request context
    response.headers["Content-Length"] = str(content.size)
    response.headers["ETag"] = f'"{etag}"'
    response.headers["Content-Disposition"] = f'inline; filename="{content.filename}"'
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
