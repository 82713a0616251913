"""The pages' blueprint: logging in and out, the language switch, the start page."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, make_response, render_template, request
from werkzeug.wrappers import Response

from errors import ServiceError
from exchange.http.auth import client_ip, end_web_session, resolve_caller, services, start_web_session
from exchange.http.errors import LANGUAGE_COOKIE, WEB_BLUEPRINT, reader_language, status_of
from exchange.http.web import forms
from exchange.http.web.pages import (ACTION_NAMES, DELIVERY_STATUS_NAMES, REVISION_KIND_NAMES, STATE_NAMES,
                                     URGENCY_NAMES, caller, local_path, page, see_other, text, vn_date, vn_time)
from exchange.services import login, worklist

bp = Blueprint(WEB_BLUEPRINT, __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
LANGUAGE_NAMES = (("vi", "Tiếng Việt"), ("en", "English"))


@bp.app_context_processor
def _page_helpers() -> dict[str, Any]:
    return {"_": text, "vn_date": vn_date, "vn_time": vn_time, "language_names": LANGUAGE_NAMES,
            "reader_language": reader_language(), "urgency_names": URGENCY_NAMES, "state_names": STATE_NAMES,
            "delivery_status_names": DELIVERY_STATUS_NAMES, "action_names": ACTION_NAMES,
            "revision_kind_names": REVISION_KIND_NAMES,
            "current_user": g.get("caller")}


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page() -> Any:
    form = forms.LoginForm()
    if request.method == "GET":
        form.next.data = local_path(request.args.get("next"))
        if resolve_caller() is not None:
            return see_other("web.start")
    status, error = 200, None
    if form.validate_on_submit():
        try:
            user = login.login(services(), form.username.data or "", form.password.data or "", client_ip())
        except ServiceError as exc:
            status, error = status_of(exc), exc.message
        else:
            start_web_session(user)
            return Response(status=303, headers={"Location": local_path(form.next.data)})
    elif request.method == "POST":
        status = 422
    form.password.data = ""  # never written back into the page
    return render_template("web/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Response:
    form = forms.ActionForm()
    form.validate_on_submit()  # the CSRF token was checked before the view (exchange.http.security)
    end_web_session()
    return see_other("web.login")


@bp.post("/language")
def language() -> Response:
    form = forms.LanguageForm()
    response = make_response(Response(status=303, headers={"Location": local_path(form.next.data)}))
    if form.validate_on_submit():
        response.set_cookie(LANGUAGE_COOKIE, str(form.lang.data), max_age=LANGUAGE_COOKIE_SECONDS, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    return response


@bp.get("/")
@page()
def start() -> str:
    return render_template("web/start.html", work=worklist.what_waits(services(), caller()))
