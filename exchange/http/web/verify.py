"""Kiểm tra chữ ký (``/verify``): any PDF dropped by a clerk or an auditor → the report of
``exchange.services.verification`` (the API's ``POST /api/v1/verify``) in words, green /
amber / red per signature, the technical details folded; for a file changed after it was
signed, the signed revision beside the current file with the changed areas outlined
(``exchange.services.verify_compare``); the report downloadable as a PDF. Nothing is kept:
the page images and the PDF travel in the answer (``data:`` URLs)."""
from __future__ import annotations

import base64
from typing import Any

from flask import render_template, request

from errors import ServiceError, Unprocessable
from exchange.domain.enums import Role
from exchange.http.auth import services
from exchange.http.errors import reader_language, status_of
from exchange.http.web import forms
from exchange.http.web.pages import page
from exchange.http.web.routes import bp
from exchange.services import verification, verify_compare, verify_export
from signing.report import Indication, Report, labelled_dn, value_text, verdict_text
from translations import _l

COLOURS = {Indication.PASSED: "green", Indication.INDETERMINATE: "amber", Indication.FAILED: "red",
           Indication.NO_SIGNATURE: "amber"}


def _data_url(mimetype: str, data: bytes) -> str:
    return f"data:{mimetype};base64,{base64.b64encode(data).decode('ascii')}"


def _view(report: Report) -> dict[str, Any]:
    data = report.to_json()
    rows = [{**raw, "colour": COLOURS[sig.indication],
             "verdict": verdict_text(sig.indication, sig.sub_indication, sig.modification),
             "chain_text": [labelled_dn(dn, reader_language()) for dn in sig.chain]}
            for sig, raw in zip(report.signatures, data["signatures"], strict=True)]
    return {"data": data, "colour": COLOURS[report.indication], "verdict": report.message_ids[0],
            "reasons": report.message_ids[1:], "signatures": rows, "value": value_text,
            "bytes_changed": any(not sig.checks_evaluated for sig in report.signatures)}


@bp.route("/verify", methods=["GET", "POST"], endpoint="verify")
@page(Role.CLERK, Role.AUDITOR)
def verify_page() -> Any:
    form = forms.VerifyForm()
    status, error, field_errors, context = 200, None, {}, {}
    if request.method == "POST":
        upload = form.file.data
        try:
            if not form.validate_on_submit():
                raise forms.invalid(form)
            data = upload.stream.read()
            if not data:
                raise Unprocessable(_l("the file is empty"), fields={"file": _l("the file is empty")})
            upload.stream.seek(0)
            report = verification.verify_upload(services(), upload.stream, upload.filename)
        except ServiceError as exc:
            status, error, field_errors = status_of(exc), exc.message, dict(exc.fields or {})
        else:
            comparison = verify_compare.compare(data) if verify_compare.changed_after_signing(report) else None
            pdf = verify_export.report_pdf(report, reader_language())
            context = {"report": _view(report), "comparison": comparison, "png": lambda b: _data_url("image/png", b),
                       "pdf_url": _data_url("application/pdf", pdf),
                       "pdf_name": f"bao-cao-kiem-tra-{(report.sha256 or '')[:12]}.pdf"}
    return render_template("web/verify.html", form=form, error=error, field_errors=field_errors,
                           **context), status

