"""``/api/v1/documents``: upload, list, read, download."""
from __future__ import annotations

from typing import Any, Mapping

from apiflask import APIBlueprint, Schema
from apiflask.fields import File, List, Nested
from apiflask.validators import Length, OneOf, Range
from flask import Response
from marshmallow import ValidationError
from marshmallow.fields import Date
from marshmallow.types import StrSequenceOrSet

from exchange.domain.enums import DocumentState, Role, Urgency, values
from exchange.http.api.common import PDF_RESPONSE, ContentQuery, DocumentOut, blob_response
from exchange.http.auth import caller_required, current_caller, from_own_pages, services
from exchange.http.idempotency import idempotent
from exchange.services import document_search, documents, signed_upload
from exchange.services.document_search import DocumentFilters
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
    q = String(validate=Length(1, 200), metadata={
        "description": "words of the số/ký hiệu or trích yếu, any case, with or without diacritics: "
                       "`quyet dinh` finds `Quyết định`; every word must occur"})
    doc_type = String(validate=Length(1, 100), metadata={"description": "exactly, e.g. `Công văn`"})
    urgency = String(validate=OneOf(values(Urgency)))
    state = String(validate=OneOf(values(DocumentState)))
    issued_from = Date(metadata={"description": "issued on or after (YYYY-MM-DD)"})
    issued_to = Date(metadata={"description": "issued on or before (YYYY-MM-DD)"})
    after = Integer(load_default=0, validate=Range(min=0))
    limit = Integer(load_default=50, validate=Range(1, 500))


class DocumentList(Schema):
    items = List(Nested(DocumentOut))
    next_cursor = Integer(allow_none=True)


@bp.post("/documents")
@caller_required(Role.CLERK, allow_agency_system=True)
@idempotent
@bp.input(UploadIn, location="form_and_files", arg_name="form")
@bp.output(DocumentOut, status_code=201)
@bp.doc(tags=["documents"], summary="Tải lên văn bản / upload a document (PDF + metadata)",
        description="Multipart: `file` (PDF) and `metadata` (JSON object, see DocumentMetadataIn). "
                    "Not a PDF → 415; encrypted or truncated → 422; over LIENTHONG_MAX_UPLOAD_MB → 413; "
                    "secret confidentiality levels → 422. A clerk's upload is a `draft`. An agency system's "
                    "token may upload only a file it has already signed (at least one intact, valid signature "
                    "covering the whole file, none failed; else 422 `not_signed`, nothing stored): it is "
                    "`sealed` at once, ready to dispatch.",
        responses={413: "file too large", 415: "not a PDF"})
def post_document(form: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    caller = current_caller()
    upload = documents.upload if caller.is_user else signed_upload.upload_signed
    body = upload(services(), caller, form["file"].stream, form["metadata"])
    return body, 201, {"Location": f"/api/v1/documents/{body['id']}"}


@bp.get("/documents")
@caller_required(allow_agency_system=True)
@bp.input(DocumentQuery, location="query", arg_name="query")
@bp.output(DocumentList)
@bp.doc(tags=["documents"], summary="Văn bản của cơ quan / the caller's agency's documents",
        description="Documents issued by the caller's agency that match every filter given, by id, after "
                    "the cursor. An unknown query parameter is 422 `unknown_parameter`.")
def get_documents(query: dict[str, Any]) -> dict[str, Any]:
    filters = DocumentFilters(q=query.get("q", ""), doc_type=query.get("doc_type"), urgency=query.get("urgency"),
                              state=query.get("state"), issued_from=query.get("issued_from"),
                              issued_to=query.get("issued_to"))
    return document_search.search_page(services(), current_caller(), filters, after=query["after"],
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
        description="`Content-Length`, a strong `ETag` (the SHA-256) and `Repr-Digest: sha-256=:…:` (RFC 9530; "
                    "also `Digest`) on every answer; `Range: bytes=…` answers 206 (one range; `If-Range` with the "
                    "ETag), 416 when unsatisfiable. A body shorter than its Content-Length broke off: retry. "
                    "A recipient's download is recorded (`fetched_at`) once the file's last byte was sent; with "
                    "the session cookie only when `Sec-Fetch-Site` is `same-origin` or `none` (a cross-site "
                    "link is served and records nothing: no state change on such a GET).",
        responses={200: PDF_RESPONSE, 206: "the requested range", 304: "not modified (If-None-Match)",
                   416: "range not satisfiable"})
def get_document_content(document_id: int, query: dict[str, Any]) -> Response:
    content = documents.content(services(), current_caller(), document_id, query.get("revision"),
                                record_fetch=from_own_pages())
    return blob_response(content, "application/pdf", f'inline; filename="{content.filename}"')
