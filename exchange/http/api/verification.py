"""``/api/v1/verify`` and ``/api/v1/documents/{id}/verification``: signature reports as JSON
(typed: ``VerificationReport`` in the OpenAPI document), or the printable page
(``Accept: text/html`` or ``?format=html``, ``lang=vi|en``)."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, File, List, Nested
from apiflask.validators import OneOf
from flask import Response, request

from exchange.http.api.common import ContentQuery
from exchange.http.auth import caller_required, current_caller, services
from exchange.http.errors import reader_language
from exchange.http.security import csp_for_page_with_styles
from exchange.services import verification
from exchange.services.input_rules import Integer, String
from signing.report import Report, render_html
from translations import LANGUAGES

bp = APIBlueprint("api_verification", __name__, url_prefix="/api/v1", tag="verification")

INDICATIONS = ["PASSED", "INDETERMINATE", "FAILED", "NO_SIGNATURE"]


class VerifyIn(Schema):
    file = File(required=True, metadata={"description": "any PDF, stored here or not"})


class ReportQuery(Schema):
    format = String(validate=OneOf(["json", "html"]),
                    metadata={"description": "`html`: the printable page; default JSON (or as `Accept` asks)"})
    lang = String(validate=OneOf(list(LANGUAGES)),
                  metadata={"description": "language of the page (default: `Accept-Language`, else vi)"})


class DocumentReportQuery(ContentQuery, ReportQuery):
    pass


def _text(description: str, **kw: Any) -> String:
    return String(allow_none=True, metadata={"description": description}, **kw)


class ReportSignerOut(Schema):
    name = _text("the certificate's common name")
    organization = _text("the certificate's organisation")
    serial = _text("certificate serial number, hexadecimal")
    issuer = _text("the issuer's common name")
    subject_dn = _text("the full subject, RFC 4514")
    issuer_dn = _text("the full issuer, RFC 4514")


class ReportTimestampOut(Schema):
    time = _text("RFC 3339, UTC")
    tsa = _text("the timestamp authority")
    valid = Boolean()


class ReportRevocationOut(Schema):
    status = String(validate=OneOf(["good", "revoked", "unknown"]))
    source = String(validate=OneOf(["embedded", "fetched", "own_ca", "none"]),
                    metadata={"description": "`own_ca`: our own CA's current state, read in-process"})
    revoked_at = _text("when our own CA revoked the certificate (RFC 3339, UTC)")
    reason = _text("the revocation reason (RFC 5280 name)")


class ReportSignatureOut(Schema):
    checks_evaluated = Boolean(metadata={"description": "false after HASH_FAILURE: the other fields say nothing"})
    field = _text("the signature field's name")
    kind = String(validate=OneOf(["signature", "doc_timestamp"]))
    indication = String(validate=OneOf(INDICATIONS))
    sub_indication = _text("ETSI EN 319 102-1 sub-indication, e.g. HASH_FAILURE")
    signer = Nested(ReportSignerOut)
    intact = Boolean()
    valid = Boolean()
    trusted = Boolean()
    coverage = String(validate=OneOf(["entire_file", "entire_revision", "partial", "unknown"]))
    modification = String(validate=OneOf(["none", "lta_updates", "form_filling", "annotations", "other",
                                          "unknown"]))
    signing_time = _text("RFC 3339, UTC")
    timestamp = Nested(ReportTimestampOut, allow_none=True)
    revocation = Nested(ReportRevocationOut)
    chain = List(String(), metadata={"description": "subjects, signer first, trust anchor last (RFC 4514)"})
    docmdp = Integer(allow_none=True)
    revision = Integer(allow_none=True)
    reasons = List(String())


class ReportFindingOut(Schema):
    code = String()
    severity = String(validate=OneOf(["FAILED", "INDETERMINATE", "INFO"]))
    field = _text("the signature field it concerns; null: the document")
    detail = String()
    vi = String()
    en = String()


class ReportMessagesOut(Schema):
    vi = List(String())
    en = List(String())


class ReportDocumentOut(Schema):
    file_name = _text("the uploaded file's name, or `<id>-<revision>.pdf` for a stored document")
    document_id = Integer(allow_none=True)
    revision = Integer(allow_none=True)
    number = _text("số")
    notation = _text("ký hiệu")
    subject = _text("trích yếu")


class VerificationReport(Schema):
    indication = String(validate=OneOf(INDICATIONS))
    sub_indication = _text("of the worst signature or document finding")
    signatures = List(Nested(ReportSignatureOut))
    findings = List(Nested(ReportFindingOut))
    messages = Nested(ReportMessagesOut)
    validated_at = _text("RFC 3339, UTC")
    sha256 = _text("SHA-256 of the file verified")
    size = Integer(allow_none=True)
    document = Nested(ReportDocumentOut)


class StoredVerificationReport(VerificationReport):
    attachments = List(Dict(), metadata={"description": "one entry per attachment: `id`, `name`, `content_type`, "
                                                         "`kind` (`pades`, `detached_cms` or null), `indication`, "
                                                         "`sub_indication`, and a sealed PDF's `report` or the "
                                                         ".p7s check's `signature`"})
    overall_indication = String(validate=OneOf(INDICATIONS),
                                metadata={"description": "the worst of the file's and the attachments'"})


_HTML = {"text/html": {"schema": {"type": "string"}}}


def _render(report: Report | verification.StoredReport, query: dict[str, Any]) -> Response | dict[str, Any]:
    wants_html = query.get("format") == "html" or (
        query.get("format") is None
        and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
        and "application/json" not in request.accept_mimetypes.values())
    if wants_html:
        lang = query.get("lang") or reader_language()
        if isinstance(report, verification.StoredReport):
            html = render_html(report.report, lang, report.attachments)
        else:
            html = render_html(report, lang)
        return Response(html, mimetype="text/html", headers={"Content-Security-Policy": csp_for_page_with_styles(html)})
    return report.to_json()


@bp.post("/verify")
@caller_required(allow_agency_system=True)
@bp.input(VerifyIn, location="files", arg_name="form")
@bp.input(ReportQuery, location="query", arg_name="query")
@bp.output(VerificationReport, description="the verification report (JSON), or the printable page (HTML)")
@bp.doc(tags=["verification"], summary="Kiểm tra chữ ký của một PDF bất kỳ / verify any PDF",
        description="Any signed-in user with a role, or an agency system, may verify a file: checking "
                    "an incoming document's signatures is part of every role's work. `?format=html` "
                    "or `Accept: text/html` gives the printable page (`lang=vi|en`).",
        responses={415: "not a PDF"})
def post_verify(form: dict[str, Any], query: dict[str, Any]) -> Response | dict[str, Any]:
    upload = form["file"]
    return _render(verification.verify_upload(services(), upload.stream, upload.filename), query)


@bp.get("/documents/<int:document_id>/verification")
@caller_required(allow_agency_system=True)
@bp.input(DocumentReportQuery, location="query", arg_name="query")
@bp.output(StoredVerificationReport, description="the verification report (JSON), or the printable page (HTML)")
@bp.doc(tags=["verification"], summary="Kiểm tra chữ ký của văn bản / verify a stored document",
        description="The latest revision the caller may read, or `?revision=N`; JSON adds `attachments` "
                    "(one entry per attachment: a sealed PDF's report, or its .p7s checked against the file) "
                    "and `overall_indication` (the worst of the file's and the attachments').")
def get_document_verification(document_id: int, query: dict[str, Any]) -> Response | dict[str, Any]:
    return _render(verification.verify_stored_with_attachments(services(), current_caller(), document_id,
                                                               query.get("revision")), query)


def add_html_alternative(spec: dict[str, Any]) -> dict[str, Any]:
    """The two report operations answer ``text/html`` too (``format=html``)."""
    for path in ("/api/v1/verify", "/api/v1/documents/{document_id}/verification"):
        for operation in spec.get("paths", {}).get(path, {}).values():
            content = operation.get("responses", {}).get("200", {}).get("content")
            if isinstance(content, dict):
                content.update(_HTML)
    return spec


# registered with the blueprint, so app.py needs no change (APIFlask keeps one spec callback)
bp.record_once(lambda state: state.app.spec_processor(add_html_alternative))  # type: ignore[attr-defined]
