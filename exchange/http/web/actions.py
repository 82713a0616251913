"""What a document's page does (each a POST with its CSRF token, each one service call, as
the API's): the official's signature, the outgoing number, the agency's seal, the dispatch
and the recall. After it the browser goes back to the document's page (303), which shows the
result, or the refusal in words."""
from __future__ import annotations

import math
import uuid
from typing import Any, Callable, Mapping

from flask import render_template, request
from werkzeug.wrappers import Response

from errors import Unprocessable
from exchange.domain.enums import AgencyLevel, DocumentState, Role
from exchange.http.auth import services
from exchange.http.web import forms
from exchange.http.web.pages import caller, flash_outcome, page, see_other
from exchange.http.web.routes import bp
from exchange.services import delivery, directory, dispatch, previews, registers, signatures, tracking
from signing.appearance import Appearance
from translations import Message, _l

DEFAULT_LEVEL = "B-LT"
AGENCIES_SHOWN = 500


def _act(document_id: int, done: Message, action: Callable[[], Any]) -> Response:
    flash_outcome(done, action)
    return see_other("web.document", document_id=document_id)


def stamp_placement(form: Mapping[str, str]) -> Appearance | None:
    """The stamp where the official clicked on the preview (``stamp_page``, and the point
    ``stamp_x``, ``stamp_y`` in PDF points from the lower-left corner: the stamp's centre);
    None without a click (the letter's signing space, as the API's default)."""
    raw = (form.get("stamp_page", ""), form.get("stamp_x", ""), form.get("stamp_y", ""))
    if not all(raw):
        return None
    try:
        page_number, x, y = int(raw[0]), float(raw[1]), float(raw[2])
        if page_number < 1 or not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(raw)
    except ValueError:
        raise Unprocessable(_l("invalid stamp position"),
                            fields={"box": _l("click on a page of the preview")}) from None
    from signing.stamps import PERSON_SIZE  # pyHanko and fontTools: imported where used (start time)

    width, height = PERSON_SIZE
    return Appearance(page=page_number - 1, box=(x - width / 2, y - height / 2, x + width / 2, y + height / 2))


@bp.post("/documents/<int:document_id>/sign")
@page(Role.SIGNER)
def sign(document_id: int) -> Response:
    return _act(document_id, _l("the document is signed"), lambda: signatures.sign_document(
        services(), caller(), document_id, profile="person", level=DEFAULT_LEVEL,
        appearance=stamp_placement(request.form)))


@bp.post("/documents/<int:document_id>/register")
@page(Role.CLERK)
def register(document_id: int) -> Response:
    return _act(document_id, _l("the document is numbered in the outgoing register"),
                lambda: registers.register_outgoing(services(), caller(), document_id, None))


@bp.post("/documents/<int:document_id>/seal")
@page(Role.CLERK)
def seal(document_id: int) -> Response:
    return _act(document_id, _l("the agency's seal is applied"), lambda: signatures.sign_document(
        services(), caller(), document_id, profile="seal", level=DEFAULT_LEVEL))


@bp.post("/documents/<int:document_id>/dispatch")
@page(Role.CLERK)
def send(document_id: int) -> Response:
    form = forms.DispatchForm()
    recipients = dispatch.Recipients(to=tuple(form.to.data or ()), children_of=(form.children_of.data or None),
                                     level=(form.level.data or None) if form.children_of.data else None)
    return _act(document_id, _l("the document is sent"), lambda: dispatch.dispatch_document(
        services(), caller(), document_id, recipients, form.idempotency_key.data or None))


@bp.post("/documents/<int:document_id>/recall")
@page(Role.CLERK)
def recall(document_id: int) -> Response:
    form = forms.RecallForm()
    return _act(document_id, _l("the recall is requested"), lambda: delivery.request_recall(
        services(), caller(), document_id, (form.reason.data or "").strip()))


def document_panel(d: dict[str, Any]) -> dict[str, Any]:
    """What the document's page shows beside the document: its signatures, the actions the
    caller may take in its state, the recipients' statuses once sent."""
    who, state = caller(), d["state"]
    own = d["issuer"] == who.agency_code
    panel: dict[str, Any] = {
        "signatures": signatures.summary_for(services(), who, d["id"])["signatures"],
        "may_sign": own and Role.SIGNER in who.roles and state == DocumentState.DRAFT,
        "may_register": own and Role.CLERK in who.roles and state == DocumentState.SIGNED and not d["number"],
        "may_seal": own and Role.CLERK in who.roles and state == DocumentState.SIGNED and bool(d["number"]),
        "may_send": own and Role.CLERK in who.roles and state == DocumentState.SEALED,
        "may_recall": own and Role.CLERK in who.roles and state == DocumentState.SENT,
        "deliveries": [],
    }
    if own and state == DocumentState.SENT:
        panel["deliveries"] = tracking.document_deliveries(services(), who, d["id"])["deliveries"]
    if panel["may_send"]:
        agencies = directory.directory_page(services(), parent=None, after="", limit=AGENCIES_SHOWN)["items"]
        panel["agencies"] = [a for a in agencies if a["code"] != who.agency_code]
        panel["levels"] = [level.value for level in AgencyLevel]
        panel["dispatch_key"] = uuid.uuid4().hex
    return panel


def render_document(d: dict[str, Any], **context: Any) -> str:
    from signing.stamps import PERSON_SIZE

    return render_template("web/document.html", d=d, panel=document_panel(d), preview_dpi=previews.DPI,
                           stamp_size=PERSON_SIZE, **context)
