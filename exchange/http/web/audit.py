"""Nhật ký (``/audit``): the audit trail of the caller's agency and the agencies below it,
searchable (words, agency, days), newest first; "check the chain" (a POST with its CSRF
token) walks the whole chain and says the result in words — through the services the API's
``/api/v1/audit`` calls."""
from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_wtf import FlaskForm  # type: ignore[import-untyped]  # no type hints shipped
from wtforms import DateField, StringField
from wtforms.validators import Optional

from exchange.domain.enums import Role
from exchange.http.auth import services
from exchange.http.web.forms import ActionForm
from exchange.http.web.pages import caller, page
from exchange.http.web.routes import bp
from exchange.services import audit
from exchange.domain.numbers import whole_number
from translations import _l

PAGE_SIZE = 100


class AuditSearchForm(FlaskForm):
    """``/audit``'s search (GET: no CSRF token, nothing changes)."""

    class Meta:
        csrf = False

    q = StringField()
    agency = StringField()
    since = DateField(validators=[Optional()])
    until = DateField(validators=[Optional()])


def _render(chain: Any = None, status: int = 200) -> Any:
    form = AuditSearchForm(request.args)
    codes = audit.visible_agencies(services(), caller())
    error: Any = None
    found: dict[str, Any] = {"items": [], "next_cursor": None}
    if not form.validate() or (form.agency.data and form.agency.data not in codes):
        error, status = _l("invalid input"), 422
    elif form.since.data and form.until.data and form.until.data < form.since.data:
        error, status = _l("the date range ends before it starts"), 422
    else:
        before = request.args.get("before", "")
        filters = audit.EventFilters(q=(form.q.data or "").strip(), agency_code=form.agency.data or None,
                                     since=form.since.data, until=form.until.data)
        found = audit.search_visible(services(), caller(), filters,
                                     before=whole_number(before), limit=PAGE_SIZE)
    return render_template("web/audit.html", form=form, codes=codes, found=found, error=error, chain=chain,
                           check_form=ActionForm()), status


@bp.get("/audit")
@page(Role.AUDITOR, Role.ADMIN)
def audit_page() -> Any:
    return _render()


@bp.post("/audit/check")
@page(Role.AUDITOR, Role.ADMIN)
def audit_check() -> Any:
    ActionForm().validate_on_submit()  # the CSRF token was checked before the view (exchange.http.security)
    return _render(chain=audit.verify_chain(services()))
