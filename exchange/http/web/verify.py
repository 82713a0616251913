"""``/verify``: kiểm tra chữ ký — any PDF (field ``file``) checked by the service the API's
``POST /api/v1/verify`` uses; the answer is the printable report a non-expert can read (the
verdict in words, why, the technical details folded), to print or save as PDF."""
from __future__ import annotations

from typing import Any, BinaryIO, cast

from flask import Response, render_template, request

from errors import ServiceError, Unprocessable
from exchange.domain.enums import Role
from exchange.http.auth import services
from exchange.http.errors import reader_language, status_of
from exchange.http.security import csp_for_page_with_styles
from exchange.http.web import forms
from exchange.http.web.pages import page
from exchange.http.web.routes import bp
from exchange.services import verification
from signing.report import render_html
from translations import _l


@bp.route("/verify", methods=["GET", "POST"], endpoint="verify")
@page(Role.AUDITOR, Role.CLERK, Role.SIGNER)
def verify_page() -> Any:
    form = forms.VerifyForm()
    status, error = 200, None
    if request.method == "POST":
        try:
            if not form.validate_on_submit():
                raise Unprocessable(_l("invalid input"), fields={"file": _l("choose a PDF file")})
            report = verification.verify_upload(services(), cast(BinaryIO, form.file.data.stream),
                                                form.file.data.filename)
        except ServiceError as exc:
            status, error = status_of(exc), exc.message
        else:
            html = render_html(report, reader_language())
            return Response(html, mimetype="text/html",
                            headers={"Content-Security-Policy": csp_for_page_with_styles(html)})
    return render_template("web/verify.html", form=form, error=error), status
