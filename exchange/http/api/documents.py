"""``/api/v1/documents``: upload, list, read, download."""
from __future__ import annotations

import base64
from typing import Any, Callable, Iterator, Mapping

from apiflask import APIBlueprint, Schema
from apiflask.fields import File, List, Nested
from apiflask.validators import OneOf, Range
from flask import Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
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
        description="`Content-Length`, a strong `ETag` (the SHA-256) and `Repr-Digest: sha-256=:…:` (RFC 9530; "
                    "also `Digest`) on every answer; `Range: bytes=…` answers 206 (one range; `If-Range` with the "
                    "ETag), 416 when unsatisfiable. A body shorter than its Content-Length broke off: retry. "
                    "A recipient's download is recorded (`fetched_at`) once the file's last byte was sent.",
        responses={200: PDF_RESPONSE, 206: "the requested range", 304: "not modified (If-None-Match)",
                   416: "range not satisfiable"})
def get_document_content(document_id: int, query: dict[str, Any]) -> Response:
    content = documents.content(services(), current_caller(), document_id, query.get("revision"))
    headers = content_headers(content.sha256)
    if content.sha256 in request.if_none_match:
        return Response(status=304, headers=headers)
    start, stop = 0, content.size
    span = requested_span(content.sha256, content.size)
    if span is not None:
        start, stop = span
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{content.size}"
    chunks = content.chunks(start, stop)
    first = next(chunks, b"")  # open (and fail: 503) before the status line is sent
    on_delivered = content.on_delivered if stop == content.size else None
    response = Response(_body(first, chunks, on_delivered), status=206 if span else 200,
                        mimetype="application/pdf")  # the body needs no request context
    response.headers.update(headers)
    response.headers["Content-Length"] = str(stop - start)
    response.headers["Content-Disposition"] = f'inline; filename="{content.filename}"'
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


def content_headers(sha256: str) -> dict[str, str]:
    """What identifies the whole file, on 200, 206 and 304 alike."""
    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
    return {"ETag": f'"{sha256}"', "Repr-Digest": f"sha-256=:{digest}:", "Digest": f"sha-256={digest}",
            "Accept-Ranges": "bytes"}


def requested_span(etag: str, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, as (start, stop); None for the whole file (no Range, an
    If-Range naming another version, several ranges: the whole file answers those)."""
    wanted = request.range
    if wanted is None or wanted.units != "bytes":
        return None
    if_range = request.if_range
    if (if_range.etag is not None and if_range.etag != etag) or if_range.date is not None:
        return None  # another version (or a date, which a content-addressed file cannot match)
    if len(wanted.ranges) != 1:
        return None
    span = wanted.range_for_length(size)
    if span is None:
        raise RequestedRangeNotSatisfiable(length=size)
    return span


def _body(first: bytes, rest: Iterator[bytes], on_delivered: Callable[[], object] | None) -> Iterator[bytes]:
    """The response body; ``on_delivered`` runs once the last chunk was handed to the server
    (a client that went away first closes the generator at a ``yield``: nothing recorded)."""
    if first:
        yield first
    yield from rest
    if on_delivered is not None:
        on_delivered()
