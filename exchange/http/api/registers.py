"""Numbering and the registers: ``POST /documents/{id}/register`` (cấp số),
``GET /registers/{outgoing|incoming}`` (sổ văn bản đi / đến as JSON, CSV or PDF) and
``POST /registers/incoming`` (a paper document that came by post)."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Date, List, Nested
from apiflask.validators import OneOf, Range
from flask import Response, request
from marshmallow import RAISE, ValidationError

from exchange.domain.enums import Register, Role
from exchange.http.api.common import DocumentOut
from exchange.http.api.documents import JSONNested
from exchange.http.idempotency import idempotent
from exchange.http.auth import caller_required, current_caller, services
from exchange.http.errors import invalid_input, reader_language
from exchange.services import input_rules, register_export, registers
from exchange.services.registers import NUMBER_MAX, PaperDocumentIn
from exchange.services.input_rules import Integer, String
from translations import _l

bp = APIBlueprint("api_registers", __name__, url_prefix="/api/v1", tag="registers")

FORMATS = {"csv": ("text/csv; charset=utf-8", register_export.to_csv),
           "pdf": ("application/pdf", register_export.to_pdf)}
FILE_NAMES = {Register.OUTGOING: "so-van-ban-di", Register.INCOMING: "so-van-ban-den"}


class RegisterIn(Schema):
    number = input_rules.Integer(load_default=None, allow_none=True, strict=True, validate=Range(1, NUMBER_MAX),
                     metadata={"description": "a free number of this year's outgoing register; "
                                              "without it, the register's next number"})


# Any: APIFlask handles these response descriptions (several media types) but its
# ResponsesType cannot express them
REGISTER_RESPONSES: Any
PAPER_RESPONSES: Any


class EntryOut(Schema):
    register = String()
    year = Integer()
    number = Integer()
    registered_at = String(metadata={"description": "RFC 3339, UTC"})


class RegisteredEntryOut(EntryOut):
    number_written = Boolean(metadata={"description": "the number was written after the 'Số:' label of page 1"})
    date_written = Boolean(metadata={"description": "the date was written on the '…, ngày … tháng … năm …' line"})


class RegisteredDocumentOut(DocumentOut):
    register = Nested(RegisteredEntryOut)


class RegisterDocumentOut(Schema):
    id = Integer(allow_none=True, metadata={"description": "the document's id; null for a paper document"})
    paper = Boolean()
    author = String(metadata={"description": "tác giả: the issuing agency"})
    reference = String(metadata={"description": "số, ký hiệu"})
    document_date = String(allow_none=True)
    doc_type = String()
    subject = String()
    signer = String()
    scan_sha256 = String(allow_none=True)
    replaced_by = Integer(allow_none=True, metadata={"description": "the dispatched document replacing this one "
                                                                    "(edXML BussinessDocType 3), if any"})


class RegisterLineOut(EntryOut):
    registered_on = String(metadata={"description": "date of registration (ngày đến), Vietnam time"})
    registered_by = String()
    document = Nested(RegisterDocumentOut)
    handler = String()
    copies = Integer(allow_none=True)
    due_on = String(allow_none=True)
    note = String()
    recipients = List(String(), metadata={"description": "outgoing: nơi nhận"})
    delivery_id = Integer(allow_none=True, metadata={"description": "incoming: the delivery, null for paper"})
    status = String(allow_none=True, metadata={"description": "incoming: the delivery's status now"})


class AgencyRef(Schema):
    code = String()
    name = String()


class RegisterOut(Schema):
    register = String()
    year = Integer()
    agency = Nested(AgencyRef)
    from_ = String(data_key="from", allow_none=True)
    to = String(allow_none=True)
    items = List(Nested(RegisterLineOut))


class RegisterQuery(Schema):
    class Meta:
        unknown = RAISE  # a misspelt filter must not silently give the whole year

    year = input_rules.Integer(required=True, validate=Range(2000, 2100))
    from_ = Date(data_key="from", load_default=None, metadata={"description": "registered on or after (YYYY-MM-DD)"})
    to = Date(load_default=None, metadata={"description": "registered on or before (YYYY-MM-DD)"})
    format = input_rules.String(load_default="json", validate=OneOf(("json", "csv", "pdf")))


class PaperUploadIn(Schema):
    """The multipart form: ``metadata`` (JSON); the optional ``scan`` file is read beside it."""
    metadata = JSONNested(PaperDocumentIn, required=True)


REGISTER_RESPONSES = {200: {"description": "the register", "content": {
    "application/json": {"schema": RegisterOut},
    "text/csv": {"schema": {"type": "string"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
PAPER_RESPONSES = {201: {"description": "the register line",
                         "content": {"application/json": {"schema": RegisterLineOut}}},
                   422: "invalid input"}


@bp.post("/documents/<int:document_id>/register")
@caller_required(Role.CLERK, allow_agency_system=True)
@idempotent
@bp.input(RegisterIn, arg_name="body")
@bp.output(RegisteredDocumentOut)
@bp.doc(tags=["registers"], summary="Cấp số văn bản đi / number and register a signed document",
        description="The next number of the issuer's outgoing register for the year (Vietnam time), or "
                    "`number` if free (a number typed at upload is replaced); `issued_on` is set; the "
                    "number and the date are written onto page 1 (as an annotation update the seal covers). "
                    "409 `number_taken`, `already_registered`, `not_signed` (only person-signed documents).",
        responses={409: "number taken, already registered, not signed", 404: "no such document"})
def post_register(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return registers.register_outgoing(services(), current_caller(), document_id, body.get("number"))


@bp.get("/registers/<any(outgoing, incoming):register>")
@caller_required(Role.CLERK, Role.SIGNER, Role.AUDITOR, allow_agency_system=True)
@bp.input(RegisterQuery, location="query", arg_name="query", unknown=RAISE)
@bp.output(RegisterOut)
@bp.doc(tags=["registers"], summary="Sổ văn bản đi / đến / the caller's agency's register",
        description="`format=csv` (UTF-8 with BOM) or `format=pdf` (A4 landscape, printable) instead of JSON.",
        responses=REGISTER_RESPONSES)
def get_register(register: str, query: dict[str, Any]) -> Any:
    page = registers.register_rows(services(), current_caller(), register, query["year"], query["from_"],
                                   query["to"])
    if query["format"] == "json":
        return page
    mimetype, render = FORMATS[query["format"]]
    name = f"{FILE_NAMES[Register(register)]}-{query['year']}.{query['format']}"
    return Response(render(page, reader_language()), content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/registers/incoming")
@caller_required(Role.CLERK, allow_agency_system=True)
@idempotent
# documents the JSON form of the body; _paper_input reads it (or the multipart form) itself
@bp.input(PaperDocumentIn, location="json", arg_name="_documented_body", validation=False)  # type: ignore[arg-type]  # a marshmallow Schema, which APIFlask takes
@bp.doc(tags=["registers"], summary="Vào sổ văn bản đến giấy / register a paper document that came by post",
        description="JSON body (PaperDocumentIn), or multipart: `metadata` (that JSON) and an optional `scan`. "
                    "It takes the next số đến, in the same series as electronic documents.",
        responses=PAPER_RESPONSES)
def post_paper(_documented_body: Any) -> tuple[dict[str, Any], int]:
    data, scan = _paper_input()
    return registers.register_paper(services(), current_caller(), data, scan), 201


def _paper_input() -> tuple[dict[str, Any], Any]:
    """The metadata, from a JSON body or a multipart form (with its optional scan)."""
    try:
        if request.mimetype == "multipart/form-data":
            form = PaperUploadIn().load({"metadata": request.form.get("metadata")}, unknown=RAISE)
            scan = request.files.get("scan")
            return form["metadata"], (scan.stream if scan is not None else None)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError({"body": [_l("must be a JSON object")]})
        return PaperDocumentIn().load(body, unknown=RAISE), None
    except ValidationError as exc:
        raise invalid_input({"json": exc.messages}) from None

