"""``/api/v1/verify`` and ``/api/v1/documents/{id}/verification``: signature reports as JSON,
or the printable page (``Accept: text/html`` or ``?format=html``, ``lang=vi|en``)."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import File
from flask import Response, request

from exchange.http.api.common import REPORT_RESPONSE, ContentQuery
from exchange.http.api.query_guard import accepts_query
from exchange.http.auth import caller_required, current_caller, services
from exchange.http.errors import reader_language
from exchange.services import verification
from signing.report import Report, render_html

bp = APIBlueprint("api_verification", __name__, url_prefix="/api/v1", tag="verification")


class VerifyIn(Schema):
    file = File(required=True, metadata={"description": "any PDF, stored here or not"})


def _render(report: Report | verification.StoredReport) -> Response | dict[str, Any]:
    wants_html = request.args.get("format") == "html" or (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
        and "application/json" not in request.accept_mimetypes.values())
    if wants_html:
        lang = request.args.get("lang") or reader_language()
        if isinstance(report, verification.StoredReport):
            return Response(render_html(report.report, lang, report.attachments), mimetype="text/html")
        return Response(render_html(report, lang), mimetype="text/html")
    return report.to_json()


@bp.post("/verify")
@caller_required(allow_agency_system=True)
@bp.input(VerifyIn, location="files", arg_name="form")
@bp.doc(tags=["verification"], summary="Kiểm tra chữ ký của một PDF bất kỳ / verify any PDF",
        description="Any signed-in user with a role, or an agency system, may verify a file: checking "
                    "an incoming document's signatures is part of every role's work. `?format=html` "
                    "or `Accept: text/html` gives the printable page (`lang=vi|en`).",
        responses={200: REPORT_RESPONSE, 415: "not a PDF"})
def post_verify(form: dict[str, Any]) -> Response | dict[str, Any]:
    return _render(verification.verify_upload(services(), form["file"].stream))


@bp.get("/documents/<int:document_id>/verification")
@caller_required(allow_agency_system=True)
@accepts_query("format", "lang")  # read by _render
@bp.input(ContentQuery, location="query", arg_name="query")
@bp.doc(tags=["verification"], summary="Kiểm tra chữ ký của văn bản / verify a stored document",
        description="The latest revision the caller may read, or `?revision=N`; JSON adds `attachments` "
                    "(one entry per attachment: a sealed PDF's report, or its .p7s checked against the file) "
                    "and `overall_indication` (the worst of the file's and the attachments').",
        responses={200: REPORT_RESPONSE})
def get_document_verification(document_id: int, query: dict[str, Any]) -> Response | dict[str, Any]:
    return _render(verification.verify_stored_with_attachments(services(), current_caller(), document_id,
                                                               query.get("revision")))
