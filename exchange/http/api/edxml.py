"""edXML (QCVN 102:2016): ``GET /documents/{id}/edxml`` (the issuer's dispatched document as
a package), ``GET /deliveries/{id}/edxml`` (a delivery's status as a status package) and
``POST /edxml`` (import a document or status package)."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, File, Nested
from flask import Response

from exchange.domain.enums import Role
from exchange.http.api.attachments import content_disposition
from exchange.http.auth import caller_required, current_caller, services
from exchange.http.errors import text
from exchange.services import edxml
from exchange.services.input_rules import Integer, String

bp = APIBlueprint("api_edxml", __name__, url_prefix="/api/v1", tag="edxml")

EDXML_RESPONSE: Any = {"description": "the edXML package (QCVN 102:2016)",
                       "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}}}


class EdxmlIn(Schema):
    file = File(required=True, metadata={"description": "an edXML package: a document (it lands in the caller's "
                                                        "inbox) or a status (it moves the caller's delivery)"})


class EnvelopeSignatureOut(Schema):
    state = String(metadata={"description": "`absent`, `valid` (the XML is what the key of the certificate in "
                                            "KeyInfo signed; its trust is not judged) or `invalid`: shown, "
                                            "never a reason to refuse"})
    reason = String(metadata={"description": "why it is invalid, in the reader's language"})
    detail = String(metadata={"description": "the XML-DSig verifier's own words (English)"})
    signer = String(metadata={"description": "the subject of the certificate in KeyInfo"})


class PackageOut(Schema):
    id = Integer()
    kind = String(metadata={"description": "`document` or `status`"})
    document_id = String(metadata={"description": "the package's DocumentId (ResponseFor's, for a status)"})
    sender = String(metadata={"description": "From/OrganId"})
    business_type = Integer(allow_none=True, metadata={"description": "BussinessDocType: 0 new, 1 revoke, "
                                                                      "3 replace (2, update, is refused)"})
    status_code = String(allow_none=True)
    envelope_signature = Nested(EnvelopeSignatureOut)
    imported_at = String()


class ImportOut(Schema):
    edxml = Nested(PackageOut)
    delivery = Dict(metadata={"description": "the delivery in the caller's inbox: id, status, code, seq, trace "
                                             "(its last hop says `via: edxml` and the envelope signature)"})
    document = Dict(metadata={"description": "the imported document, as GET /documents/{id} shows it"})
    result = Dict(metadata={"description": "a status package: the delivery's (or recall's) new state"})


@bp.get("/documents/<int:document_id>/edxml")
@caller_required(Role.CLERK, Role.ADMIN)
@bp.doc(tags=["edxml"], summary="Xuất gói edXML / the dispatched document as an edXML package",
        description="The issuing agency's clerk or admin only. Header (From/To/Code/PromulgationInfo/DocumentType/"
                    "Subject/SignerInfo/DueDate/OtherInfo/Priority), TraceHeaderList with every hop, "
                    "BussinessDocType (0 new, 3 replace, 1 revoke once recalled), the dispatched PDF and the "
                    "attachments base64. Not yet dispatched: 409 `not_dispatched`.",
        responses={200: EDXML_RESPONSE, 404: "no such document of the caller's agency", 409: "not dispatched"})
def get_document_edxml(document_id: int) -> Response:
    exported = edxml.export_document(services(), current_caller(), document_id)
    return _xml(exported)


@bp.get("/deliveries/<int:delivery_id>/edxml")
@caller_required(Role.CLERK, Role.ADMIN, allow_agency_system=True)
@bp.doc(tags=["edxml"], summary="Gói trạng thái edXML / a delivery's status as an edXML status package",
        description="The recipient reports its status (01–06, 15, 16), the sender its recall request (13). "
                    "Another agency's delivery: 404; nothing of the caller's to report: 409.",
        responses={200: EDXML_RESPONSE, 404: "no such delivery of the caller's agency", 409: "nothing to report"})
def get_delivery_edxml(delivery_id: int) -> Response:
    exported = edxml.export_status(services(), current_caller(), delivery_id)
    return _xml(exported)


@bp.post("/edxml")
@caller_required(Role.CLERK, allow_agency_system=True)
@bp.input(EdxmlIn, location="form_and_files", arg_name="form")
@bp.output(ImportOut, status_code=201)
@bp.doc(tags=["edxml"], summary="Nhập gói edXML / import an edXML package (multipart `file`)",
        description="A document package whose To names the caller's agency lands in its inbox (201; the same "
                    "package again: 200, the first import). A status package moves the caller's delivery "
                    "(the caller's agency must be its From). Refused: not well-formed 422 `edxml_malformed`; a "
                    "DTD or entities 422 `edxml_dtd_refused`; too large 413 `edxml_too_large`; unknown status "
                    "422 `edxml_unknown_status`; From or To not in the directory 422 `edxml_unknown_agency`; "
                    "the caller not among To 403 `edxml_not_addressed`; no PDF 422 `edxml_no_pdf`.",
        responses={200: "the same package was imported before: the first import", 403: "not addressed to you",
                   413: "too large"})
def post_edxml(form: dict[str, Any]) -> tuple[dict[str, Any], int]:
    data = form["file"].stream.read()
    answer, created = edxml.import_package(services(), current_caller(), data)
    signature = answer["edxml"]["envelope_signature"]
    signature["reason"] = text(signature["reason"])  # in the reader's language
    return answer, 201 if created else 200


def _xml(exported: edxml.Exported) -> Response:
    return Response(exported.data, mimetype="application/xml",
                    headers={"Content-Disposition": content_disposition(exported.filename),
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=0"})
