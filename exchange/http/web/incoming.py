"""Văn bản đến: the agency's inbox (``/incoming``: filters as the API's, the newest first
when unfiltered, kept up to date by static/incoming.js long-polling ``/api/v1/inbox``) and a
recipient's moves on one copy — register (03), return with a reason (02), 04–06, answer a
recall — through the services the API calls."""
from __future__ import annotations

from typing import Any

from flask import flash, render_template, request, url_for
from werkzeug.wrappers import Response

from errors import ServiceError
from exchange.domain.enums import DeliveryStatus, Role
from exchange.http.auth import services
from exchange.http.web import forms
from exchange.http.web.pages import caller, flash_outcome, page, see_other, text
from exchange.http.web.routes import bp
from exchange.services import delivery, inbox
from translations import _l

PAGE_SIZE = 50
ROLES = (Role.CLERK, Role.SIGNER, Role.AUDITOR)
# what a copy in a status may be moved to from the page (the lifecycle graph decides; this
# only chooses the buttons shown)
NEXT: dict[str, tuple[str, ...]] = {
    DeliveryStatus.QUEUED: (DeliveryStatus.ACCEPTED, DeliveryStatus.RETURNED),
    DeliveryStatus.DELIVERED: (DeliveryStatus.ACCEPTED, DeliveryStatus.RETURNED),
    DeliveryStatus.ACCEPTED: (DeliveryStatus.ASSIGNED,),
    DeliveryStatus.ASSIGNED: (DeliveryStatus.PROCESSING,),
    DeliveryStatus.PROCESSING: (DeliveryStatus.COMPLETED,),
}


def _filters(form: forms.InboxFilterForm) -> inbox.InboxFilters:
    return inbox.InboxFilters(status=form.status.data or None, urgency=form.urgency.data or None,
                              sender=(form.sender.data or "").strip() or None, received_from=form.received_from.data,
                              received_to=form.received_to.data, overdue=bool(form.overdue.data))


@bp.get("/incoming")
@page(*ROLES)
def incoming() -> Any:
    form = forms.InboxFilterForm(request.args)
    found: dict[str, Any] = {"items": [], "next_cursor": None, "last_seq": 0}
    error: Any = None if form.validate() else _l("invalid input")
    filters = _filters(form)
    if error is None:
        try:
            if filters:
                found = inbox.poll(services(), caller(), after=request.args.get("after") or None, limit=PAGE_SIZE,
                                   filters=filters)
                # the live update waits for what arrives after now, whatever the filters show
                found["last_seq"] = inbox.newest_seq(services(), caller())
            else:
                found = inbox.newest(services(), caller(), PAGE_SIZE)
        except ServiceError as exc:
            error = exc.message
    items = [item for item in found["items"] if "document" in item]  # a recalled copy never fetched: nothing to show
    template = "web/incoming_rows.html" if request.args.get("rows") == "1" else "web/incoming.html"
    next_cursor = found.get("next_cursor") if filters and len(found["items"]) == PAGE_SIZE else None
    more = (url_for("web.incoming", **{**request.args.to_dict(), "after": next_cursor}) if next_cursor is not None
            else None)
    return render_template(template, form=form, items=items, error=error, filtered=bool(filters), more=more,
                           last_seq=found.get("last_seq", 0), next_of=NEXT,
                           may_act=Role.CLERK in caller().roles), 422 if error else 200


@bp.post("/incoming/<int:delivery_id>/status")
@page(Role.CLERK)
def move(delivery_id: int) -> Response:
    form = forms.StatusForm()
    status, reason = form.status.data or "", (form.reason.data or "").strip() or None
    flash_outcome(_l("the status is changed"), lambda: delivery.receive_and_change_status(
        services(), caller(), delivery_id, status, reason))
    return see_other("web.incoming")


@bp.post("/incoming/<int:delivery_id>/recall-decision")
@page(Role.CLERK)
def recall_decision(delivery_id: int) -> Response:
    answer = request.form.get("accept")
    if answer not in ("true", "false"):  # a missing or odd answer is no refusal
        flash(text(_l("invalid input")), "error")
        return see_other("web.incoming")
    accept = answer == "true"
    flash_outcome(_l("the answer to the recall is sent"), lambda: delivery.decide_recall(
        services(), caller(), delivery_id, accept))
    return see_other("web.incoming")
