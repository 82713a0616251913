"""Request and response shapes of the delivery API (dispatch, inbox, lifecycle, forward), so that
the OpenAPI document describes them. The JSON names are a contract other programs rely on."""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from exchange.dispatch import IDEMPOTENCY_KEY_MAX, MAX_RECIPIENTS
from exchange.inbox import LIMIT_MAX, WAIT_MAX
from exchange.lifecycle import REASON_MAX, SETTABLE
from exchange.models import AGENCY_LEVELS
from exchange.schemas import DocumentOut


class IdempotencyHeaders(Schema):
    idempotency_key = String(data_key="Idempotency-Key", required=True,
                             validate=Length(1, IDEMPOTENCY_KEY_MAX),
                             metadata={"description": "the sender's key for this request: the same key and "
                                                      "body give the same dispatch; another body is 409"})


class DispatchIn(Schema):
    to = List(String(validate=Length(1, 35)), load_default=list, validate=Length(max=MAX_RECIPIENTS),
              metadata={"description": "agency codes (QCVN 102)", "example": ["000.01.01.H62"]})
    children_of = String(validate=Length(1, 35), metadata={"description": "every agency below this code, any depth"})
    level = String(validate=OneOf(AGENCY_LEVELS), metadata={"description": "with children_of: only this level"})


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
    deliveries = List(Nested(DeliveryBrief))


class Hop(Schema):
    agency = String()
    at = String()


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


class InboxQuery(Schema):
    after = String(load_default="", validate=Length(max=18), metadata={"description": "next_cursor of the last page"})
    limit = Integer(load_default=50, validate=Range(1, LIMIT_MAX))
    wait = Float(load_default=0, validate=Range(0, WAIT_MAX),
                 metadata={"description": "long-poll: answer as soon as something arrives, at most after this many seconds"})


class InboxDocument(DocumentOut):
    size = Integer()
    revision = Integer(metadata={"description": "the dispatched revision (content_url serves it)"})


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


class InboxOut(Schema):
    items = List(Nested(InboxItem))
    next_cursor = String()


class AckOut(StatusOut):
    receipt = Dict(metadata={"description": "signed receipt: JSON with a detached JWS (ES256) in `signature`; "
                                            "key at GET /api/v1/receipts/key"})
    incoming_number = Integer(metadata={"description": "số đến, per recipient agency and year"})


class StatusIn(Schema):
    status = String(required=True, validate=OneOf(sorted(SETTABLE)))
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
