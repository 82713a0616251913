"""The recipient's side: the inbox (long-poll), ack with a signed receipt, status moves,
recall decisions, forwarding; and the public key that signs receipts."""
from __future__ import annotations

from typing import Any

import orjson
from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Date, Dict, List, Nested
from apiflask.validators import Length, OneOf, Range
from flask import Response, current_app

from exchange.domain.enums import DeliveryStatus, Role, Urgency, values
from exchange.domain.lifecycle import REASON_MAX, SETTABLE
from exchange.http.api.common import DocumentOut, query_input
from exchange.http.api.dispatch import (CONFLICT, NOT_FOUND, DispatchIn, DispatchOut, Hop, IdempotencyHeaders,
                                        StatusOut, recipients_of)
from exchange.http.auth import caller_required, current_caller, services
from exchange.services import delivery, dispatch, inbox, receipts
from exchange.services.inbox import LIMIT_MAX, WAIT_MAX, InboxFilters
from exchange.services.input_rules import Float, Integer, String

bp = APIBlueprint("api_inbox", __name__, url_prefix="/api/v1", tag="inbox")


class PageQuery(Schema):
    """The cursor and the long-poll, alike for the inbox and the events feed."""

    after = String(load_default="", validate=Length(max=18), metadata={"description": "next_cursor of the last page"})
    wait = Float(load_default=0, validate=Range(0, WAIT_MAX),
                 metadata={"description": "long-poll: answer as soon as something arrives, "
                                          "at most after this many seconds"})


class InboxQuery(PageQuery):
    limit = Integer(load_default=50, validate=Range(1, LIMIT_MAX))
    status = String(validate=OneOf(values(DeliveryStatus)), metadata={"description": "only copies in this status"})
    urgency = String(validate=OneOf(values(Urgency)))
    sender = String(validate=Length(1, 35), metadata={"description": "code of the agency that sent (or forwarded) it"})
    received_from = Date(data_key="from", metadata={"description": "arrived on or after this day (Vietnam time)"})
    received_to = Date(data_key="to", metadata={"description": "arrived on or before this day (Vietnam time)"})
    overdue = Boolean(metadata={"description": "true: the due date (hạn xử lý) has passed and the copy is not "
                                              "completed, returned or recalled"})


class InboxDocument(DocumentOut):
    size = Integer()
    revision = Integer(metadata={"description": "the dispatched revision (content_url serves it)"})


class HistoryStep(Schema):
    status = String()
    code = String(allow_none=True)
    at = String()
    reason = String(metadata={"description": "when one was given (a return, a recall)"})


class InboxItem(Schema):
    delivery_id = Integer()
    seq = Integer()
    document = Nested(InboxDocument(exclude=("issuer", "state", "created_at", "revisions")))
    sender = String()
    sender_name = String()
    addressed_to = String()
    status = String()
    code = String(allow_none=True)
    incoming_number = Integer(allow_none=True)
    trace = List(Nested(Hop))
    created_at = String()
    content_url = String()
    history = List(Nested(HistoryStep), metadata={"description": "the copy's status moves, oldest first"})


class InboxOut(Schema):
    items = List(Nested(InboxItem))
    next_cursor = String()


class AckOut(StatusOut):
    receipt = Dict(metadata={"description": "signed transport receipt: JSON with a detached JWS (ES256) in "
                                            "`signature`; key at GET /api/v1/receipts/key. No số đến: "
                                            "that is given when the document is accepted (03)"})


class StatusChangeOut(StatusOut):
    incoming_number = Integer(allow_none=True, metadata={"description": "số đến, given at accepted (03): "
                                                                        "per recipient agency and year"})


class StatusIn(Schema):
    status = String(required=True, validate=OneOf(sorted(s.value for s in SETTABLE)))
    reason = String(validate=Length(max=REASON_MAX), metadata={"description": "required for returned (02)"})


class RecallDecisionIn(Schema):
    accept = Boolean(required=True)
    reason = String(load_default="", validate=Length(max=REASON_MAX))


class ReceiptKeyOut(Schema):
    kid = String()
    alg = String()
    jwk = Dict()
    pem = String()
    how_to_verify = String()


@bp.get("/inbox")
@caller_required(Role.CLERK, allow_agency_system=True)
@query_input(bp, InboxQuery)
@bp.doc(tags=["inbox"], summary="Hộp thư đến / the agency's inbox, oldest first (long-poll with wait)",
        description="A delivery recalled before the agency fetched its file is a tombstone: `delivery_id`, "
                    "`seq`, `status` and `code` only, no document metadata.",
        # the hottest endpoint: inbox.poll builds exactly this shape, so the response is described
        # here rather than re-serialised through @bp.output (which costs more than the poll itself)
        responses={200: {"description": "deliveries after the cursor, and the next cursor",
                         "content": {"application/json": {"schema": InboxOut}}}})  # type: ignore[arg-type]  # mypy cannot fit this literal to APIFlask's union
def get_inbox(query: dict[str, Any]) -> Response:
    filters = InboxFilters(status=query.get("status"), urgency=query.get("urgency"), sender=query.get("sender"),
                           received_from=query.get("received_from"), received_to=query.get("received_to"),
                           overdue=query.get("overdue", False))
    body = inbox.poll(services(), current_caller(), query["after"], query["limit"], query["wait"], filters)
    return current_app.response_class(orjson.dumps(body), mimetype="application/json")


@bp.post("/inbox/<int:delivery_id>/ack")
@caller_required(Role.CLERK, allow_agency_system=True)
@bp.output(AckOut)
@bp.doc(tags=["inbox"], summary="Xác nhận đã nhận / acknowledge (01): a signed transport receipt",
        responses={**CONFLICT, **NOT_FOUND})
def post_ack(delivery_id: int) -> dict[str, Any]:
    return delivery.acknowledge(services(), current_caller(), delivery_id)


@bp.post("/inbox/<int:delivery_id>/status")
@caller_required(Role.CLERK, allow_agency_system=True)
@bp.input(StatusIn, arg_name="body")
@bp.output(StatusChangeOut)
@bp.doc(tags=["inbox"], summary="Cập nhật tình trạng / move along the lifecycle (02–06); accepted (03) "
                                "registers the số đến",
        responses={**CONFLICT, **NOT_FOUND})
def post_status(delivery_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return delivery.change_status(services(), current_caller(), delivery_id, body["status"], body.get("reason"))


@bp.post("/inbox/<int:delivery_id>/recall-decision")
@caller_required(Role.CLERK, allow_agency_system=True)
@bp.input(RecallDecisionIn, arg_name="body")
@bp.output(StatusOut)
@bp.doc(tags=["inbox"], summary="Trả lời yêu cầu thu hồi / accept (15) or refuse (16) a recall",
        responses={**CONFLICT, **NOT_FOUND})
def post_recall_decision(delivery_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return delivery.decide_recall(services(), current_caller(), delivery_id, body["accept"], body["reason"])


@bp.post("/inbox/<int:delivery_id>/forward")
@caller_required(Role.CLERK, allow_agency_system=True)
@bp.input(IdempotencyHeaders, location="headers", arg_name="headers")
@bp.input(DispatchIn, arg_name="body")
@bp.output(DispatchOut, status_code=201)
@bp.doc(tags=["inbox"], summary="Chuyển tiếp / forward a received document down the tree (file unchanged)",
        responses={**CONFLICT, **NOT_FOUND, 200: "the same key and body were sent before"})
def post_forward(delivery_id: int, headers: dict[str, Any], body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    view, created = dispatch.forward_delivery(services(), current_caller(), delivery_id, recipients_of(body),
                                              headers["idempotency_key"])
    return view, 201 if created else 200


@bp.get("/receipts/key")
@bp.output(ReceiptKeyOut)
@bp.doc(tags=["inbox"], summary="Khóa công khai ký biên nhận / the public key that signs receipts", security=[])
def get_receipt_key() -> dict[str, Any]:
    return receipts.key_view(services().receipt_key)
