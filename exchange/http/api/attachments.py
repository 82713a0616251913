"""``/api/v1/documents/{id}/attachments``: a document's attachments (phụ lục) — add and remove
while it is a draft, list, download (the file, a PDF's sealed copy, another file's .p7s)."""
from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from apiflask import APIBlueprint, Schema
from apiflask.fields import File, List, Nested
from apiflask.validators import OneOf
from flask import Response
from werkzeug.http import dump_options_header

from exchange.domain.enums import Role
from exchange.http.api.common import AttachmentOut, blob_response
from exchange.http.idempotency import idempotent
from exchange.http.auth import caller_required, current_caller, services
from exchange.services import attachments
from exchange.services.attachments import SIGNATURE_TYPE, VERSIONS
from exchange.services.documents import Content
from exchange.services.input_rules import String

bp = APIBlueprint("api_attachments", __name__, url_prefix="/api/v1", tag="attachments")

DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}
FILE_RESPONSE: Any = {"description": "the file (ETag = its SHA-256), always as a download",
                      "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}


class AttachmentIn(Schema):
    file = File(required=True, metadata={"description": "any file type, within LIENTHONG_MAX_UPLOAD_MB"})


class AddedAttachmentOut(AttachmentOut):
    """The answer to an upload: the same fields. Its own class, because the OpenAPI generator
    registers a schema met first nested in another (DocumentOut) a second time when it is then
    an endpoint's whole answer."""


class AttachmentList(Schema):
    items = List(Nested(AttachmentOut))


class AttachmentQuery(Schema):
    version = String(validate=OneOf(VERSIONS),
                     metadata={"description": "`sealed` (a PDF's copy with the agency seal; the default once "
                                              "sealed) or `original` (the bytes as uploaded)"})


_D_STROKE = str.maketrans({"đ": "d", "Đ": "D"})


def content_disposition(filename: str) -> str:
    """``attachment`` with the name twice, as RFC 6266 asks: an ASCII ``filename`` for old
    clients and the exact UTF-8 name in ``filename*`` (RFC 5987) — what werkzeug's
    ``send_file`` writes, which streams only files it can seek in."""
    try:
        filename.encode("ascii")
        names = {"filename": filename}
    except UnicodeEncodeError:
        # đ has no decomposition: without this, "Đơn đề nghị" falls back to "on e nghi"
        simple = unicodedata.normalize("NFKD", filename.translate(_D_STROKE)).encode("ascii", "ignore").decode("ascii")
        names = {"filename": simple or "attachment", "filename*": "UTF-8''" + quote(filename, safe="!#$&+-.^_`|~")}
    return dump_options_header("attachment", names)


def download(content: Content, mimetype: str) -> Response:
    """A download, never shown inline (an HTML attachment must not run as a page of this
    site), its type never sniffed."""
    return blob_response(content, mimetype, content_disposition(content.filename), DOWNLOAD_HEADERS)


_NOT_YOURS = "another agency's document (or one not sent to the caller's agency), or no such attachment"


@bp.post("/documents/<int:document_id>/attachments")
@caller_required(Role.CLERK)
@idempotent
@bp.input(AttachmentIn, location="files", arg_name="form")
@bp.output(AddedAttachmentOut, status_code=201)
@bp.doc(tags=["attachments"], summary="Thêm phụ lục / add an attachment to a draft",
        description="Multipart `file`, any type. Allowed while the document is neither sealed nor sent. "
                    "At sealing, a PDF attachment gets the agency seal on page 1 (top right), any other file "
                    "a detached CMS signature (.p7s).",
        responses={404: "another agency's document", 409: "sealed or sent document, or the name is taken",
                   413: "file too large", 422: "empty file, no name, or a PDF that cannot be sealed"})
def post_attachment(document_id: int, form: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    upload = form["file"]
    body = attachments.add_attachment(services(), current_caller(), document_id, upload.stream, upload.filename,
                                      upload.mimetype)
    return body, 201, {"Location": body["content_url"]}


@bp.get("/documents/<int:document_id>/attachments")
@caller_required(allow_agency_system=True)
@bp.output(AttachmentList)
@bp.doc(tags=["attachments"], summary="Các phụ lục / a document's attachments",
        description="For the issuing agency and the agencies the document was sent to.",
        responses={404: _NOT_YOURS})
def get_attachments(document_id: int) -> dict[str, Any]:
    return attachments.list_attachments(services(), current_caller(), document_id)


@bp.get("/documents/<int:document_id>/attachments/<int:attachment_id>")
@caller_required(allow_agency_system=True)
@bp.input(AttachmentQuery, location="query", arg_name="query")
@bp.doc(tags=["attachments"], summary="Tải phụ lục / download an attachment",
        description="A PDF's sealed copy once sealed (`?version=original`: as uploaded); any other file "
                    "as uploaded, its signature at `…/signature`.",
        responses={200: FILE_RESPONSE, 304: "not modified (If-None-Match)", 404: _NOT_YOURS})
def get_attachment(document_id: int, attachment_id: int, query: dict[str, Any]) -> Response:
    content, mimetype = attachments.attachment_content(services(), current_caller(), document_id, attachment_id,
                                                       query.get("version"))
    return download(content, mimetype)


@bp.get("/documents/<int:document_id>/attachments/<int:attachment_id>/signature")
@caller_required(allow_agency_system=True)
@bp.doc(tags=["attachments"], summary="Chữ ký rời của phụ lục / an attachment's detached signature (.p7s)",
        description="DER CMS SignedData by the agency seal over the file's bytes, with the signing time, the "
                    "certificate chain and a timestamp: `openssl cms -verify -binary -inform DER -in x.p7s "
                    "-content x -CAfile root.pem`.",
        responses={200: FILE_RESPONSE, 404: _NOT_YOURS + "; or not sealed yet, or a PDF (sealed inside)"})
def get_attachment_signature(document_id: int, attachment_id: int) -> Response:
    content = attachments.signature_content(services(), current_caller(), document_id, attachment_id)
    return download(content, SIGNATURE_TYPE)


@bp.delete("/documents/<int:document_id>/attachments/<int:attachment_id>")
@caller_required(Role.CLERK)
@bp.output({}, status_code=204)
@bp.doc(tags=["attachments"], summary="Xóa phụ lục / remove an attachment from a draft",
        responses={404: _NOT_YOURS, 409: "the document is sealed or sent"})
def delete_attachment(document_id: int, attachment_id: int) -> tuple[str, int]:
    attachments.delete_attachment(services(), current_caller(), document_id, attachment_id)
    return "", 204
