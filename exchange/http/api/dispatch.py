"""The sender's side: dispatch a sealed document, follow every recipient, recall."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import List, Nested
from apiflask.validators import Length, OneOf

from exchange.domain.enums import AgencyLevel, Role, values
from exchange.domain.lifecycle import REASON_MAX
from exchange.http.auth import caller_required, current_caller, services
from exchange.services import delivery, dispatch, tracking
from exchange.services.dispatch import IDEMPOTENCY_KEY_MAX, MAX_RECIPIENTS
from exchange.services.input_rules import Integer, String

bp = APIBlueprint("api_dispatch", __name__, url_prefix="/api/v1", tag="dispatch")

CONFLICT = {409: "Idempotency-Key reused with another body, or a transition not in the lifecycle graph"}
NOT_FOUND = {404: "no such object for the caller's agency"}


class IdempotencyHeaders(Schema):
    idempotency_key = String(data_key="Idempotency-Key", required=True,
                             validate=Length(1, IDEMPOTENCY_KEY_MAX),
                             metadata={"description": "the sender's key for this request: the same key and "
                                                      "body give the same dispatch; another body is 409"})


class DispatchIn(Schema):
    to = List(String(validate=Length(1, 35)), load_default=list, validate=Length(max=MAX_RECIPIENTS),
              metadata={"description": "agency codes (QCVN 102)", "example": ["000.01.01.H62"]})
    children_of = String(validate=Length(1, 35), metadata={"description": "every agency below this code, any depth"})
    level = String(validate=OneOf(values(AgencyLevel)), metadata={"description": "with children_of: only this level"})


class DeliveryBrief(Schema):
    id = Integer()
    recipient = String(metadata={"description": "recipient agency code (after successor routing)"})
    addressed_to = String(metadata={"description": "the code as addressed, when it was routed to a successor"})
    status = String()
    code = String(allow_none=True, metadata={"description": "edXML status code (01–06, 13, 15, 16); null while queued"})


class DispatchOut(Schema):
    id = Integer()
    document_id = Integer()
    forwarded_from = Integer(allow_none=True, metadata={"description": "the delivery a forward came from"})
    created_at = String()
    already_delivered = List(String(), metadata={
        "description": "codes (as addressed) not sent to: named twice, or already holding a live copy of the "
                       "document (not returned, not recalled)"})
    deliveries = List(Nested(DeliveryBrief))


class Hop(Schema):
    agency = String()
    at = String()
    via = String(metadata={"description": "`edxml`: the hop of an edXML import into this agency's inbox"})
    envelope_signature = String(metadata={"description": "on an edXML import's hop: the package's envelope "
                                                         "signature, `absent`, `valid` or `invalid`"})


class HistoryEntry(Schema):
    status = String()
    code = String(allow_none=True)
    at = String()
    actor = String()
    reason = String()


class SenderDelivery(DeliveryBrief):
    sender = String(metadata={"description": "the agency that sent this hop"})
    forwarded_from = Integer(allow_none=True)
    hop = Integer(metadata={"description": "1 for the issuer's own dispatch, 2 after one forward, …"})
    trace = List(Nested(Hop))
    incoming_number = Integer(allow_none=True)
    fetched_at = String(allow_none=True, metadata={"description": "first download by the recipient"})
    acked_at = String(allow_none=True)
    history = List(Nested(HistoryEntry))


class DeliveriesOut(Schema):
    document_id = Integer()
    deliveries = List(Nested(SenderDelivery))


class RecallIn(Schema):
    reason = String(load_default="", validate=Length(max=REASON_MAX))


class StatusOut(Schema):
    id = Integer()
    status = String()
    code = String(allow_none=True)


class RecallOut(Schema):
    deliveries = List(Nested(StatusOut))


def recipients_of(body: dict[str, Any]) -> dispatch.Recipients:
    return dispatch.Recipients(to=tuple(body.get("to") or ()), children_of=body.get("children_of"),
                               level=body.get("level"))


@bp.post("/documents/<int:document_id>/dispatches")
@caller_required(Role.CLERK, allow_agency_system=True)
@bp.input(IdempotencyHeaders, location="headers", arg_name="headers")
@bp.input(DispatchIn, arg_name="body")
@bp.output(DispatchOut, status_code=201)
@bp.doc(tags=["dispatch"], summary="Gửi văn bản / dispatch a sealed document to agencies",
        description="One delivery per recipient, in one transaction. A repeated request with the same "
                    "Idempotency-Key and body answers 200 with the first dispatch.",
        responses={**CONFLICT, **NOT_FOUND, 200: "the same key and body were sent before"})
def post_dispatch(document_id: int, headers: dict[str, Any], body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    view, created = dispatch.dispatch_document(services(), current_caller(), document_id, recipients_of(body),
                                               headers["idempotency_key"])
    return view, 201 if created else 200


@bp.get("/documents/<int:document_id>/deliveries")
@caller_required(Role.CLERK, Role.SIGNER, Role.AUDITOR, allow_agency_system=True)
@bp.output(DeliveriesOut)
@bp.doc(tags=["dispatch"], summary="Tình trạng gửi / every recipient's status and history, forwards included",
        responses=NOT_FOUND)
def get_deliveries(document_id: int) -> dict[str, Any]:
    return tracking.document_deliveries(services(), current_caller(), document_id)


@bp.post("/documents/<int:document_id>/recall")
@caller_required(Role.CLERK, allow_agency_system=True)
@bp.input(RecallIn, arg_name="body")
@bp.output(RecallOut)
@bp.doc(tags=["dispatch"], summary="Thu hồi văn bản / recall (13): unacknowledged deliveries at once (15)",
        responses={**CONFLICT, **NOT_FOUND})
def post_recall(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return delivery.request_recall(services(), current_caller(), document_id, body["reason"])
