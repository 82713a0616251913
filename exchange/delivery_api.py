"""HTTP handlers of the delivery half: dispatch, inbox, ack/status/recall, forward, sender view.

Thin: parse (APIFlask schemas), call one service function, render. Agency systems (agency
tokens) and the agency's clerks may use every endpoint here; another agency's delivery or
document answers 404, as if it did not exist.
"""
from __future__ import annotations

import functools

import orjson
from apiflask import APIBlueprint
from flask import current_app, request
from marshmallow import EXCLUDE, ValidationError

from errors import invalid_input

from exchange import dispatch, inbox, lifecycle, receipts
from exchange.auth import caller_required, current_caller
from exchange.delivery_schemas import (AckOut, DeliveriesOut, DispatchIn, DispatchOut, IdempotencyHeaders,
                                       InboxOut, InboxQuery, RecallDecisionIn, RecallIn, RecallOut,
                                       ReceiptKeyOut, StatusIn, StatusOut)
from storage.db import engine_from_app, session_scope

bp = APIBlueprint("delivery", __name__, url_prefix="/api/v1", tag="delivery")

CONFLICT = {409: "Idempotency-Key reused with another body, or a transition not in the lifecycle graph"}
NOT_FOUND = {404: "no such object for the caller's agency"}


def _recipients(body: dict) -> dispatch.Recipients:
    return dispatch.Recipients(to=tuple(body.get("to") or ()), children_of=body.get("children_of"),
                               level=body.get("level"))


def _receipt_key() -> receipts.ReceiptKey:
    return receipts.load_or_create_key(current_app.extensions["lienthong.settings"].data_dir)


def _write():  # type: ignore[no-untyped-def]
    return session_scope(engine_from_app(), write=True)


# --- sender side ------------------------------------------------------------------------

@bp.post("/documents/<int:document_id>/dispatches")
@caller_required("clerk", allow_agency_system=True)
@bp.input(IdempotencyHeaders, location="headers", arg_name="headers")
@bp.input(DispatchIn, arg_name="body")
@bp.output(DispatchOut, status_code=201)
@bp.doc(tags=["dispatch"], summary="Gửi văn bản / dispatch a sealed document to agencies",
        description="One delivery per recipient, in one transaction. A repeated request with the same "
                    "Idempotency-Key and body answers 200 with the first dispatch.",
        responses={**CONFLICT, **NOT_FOUND, 200: "the same key and body were sent before"})
def post_dispatch(document_id: int, headers: dict, body: dict):  # type: ignore[no-untyped-def]
    view, created = dispatch.dispatch_document(engine_from_app(), current_caller(), document_id,
                                               _recipients(body), headers["idempotency_key"])
    return view, 201 if created else 200


@bp.get("/documents/<int:document_id>/deliveries")
@caller_required("clerk", "signer", "auditor", allow_agency_system=True)
@bp.output(DeliveriesOut)
@bp.doc(tags=["dispatch"], summary="Tình trạng gửi / every recipient's status and history, forwards included",
        responses=NOT_FOUND)
def get_deliveries(document_id: int):  # type: ignore[no-untyped-def]
    with session_scope(engine_from_app()) as session:
        return dispatch.document_deliveries(session, current_caller(), document_id)


@bp.post("/documents/<int:document_id>/recall")
@caller_required("clerk", allow_agency_system=True)
@bp.input(RecallIn, arg_name="body")
@bp.output(RecallOut)
@bp.doc(tags=["dispatch"], summary="Thu hồi văn bản / recall (13): unacknowledged deliveries at once (15)",
        responses={**CONFLICT, **NOT_FOUND})
def post_recall(document_id: int, body: dict):  # type: ignore[no-untyped-def]
    with _write() as session:
        return lifecycle.request_recall(session, current_caller(), document_id, body["reason"])


# --- recipient side ---------------------------------------------------------------------

def query_input(schema_cls, arg_name: str = "query"):  # type: ignore[no-untyped-def]
    """Like ``@bp.input(schema, location="query")`` (same OpenAPI description, same 422), but
    loads ``request.args`` with the schema directly: webargs' machinery costs more than an
    empty inbox poll itself, the endpoint agencies call most."""
    schema = schema_cls()

    def decorate(view):  # type: ignore[no-untyped-def]
        described = bp.input(schema_cls, location="query", arg_name=arg_name)(view)

        @functools.wraps(view)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                kwargs[arg_name] = schema.load(request.args.to_dict(), unknown=EXCLUDE)
            except ValidationError as exc:
                raise invalid_input({"query": exc.messages}) from None
            return view(*args, **kwargs)

        wrapper._spec = described._spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


@bp.get("/inbox")
@caller_required("clerk", allow_agency_system=True)
@query_input(InboxQuery)
@bp.doc(tags=["inbox"], summary="Hộp thư đến / the agency's inbox, oldest first (long-poll with wait)",
        # the hottest endpoint: inbox.poll builds exactly this shape, so the response is described
        # here rather than re-serialised through @bp.output (which costs more than the poll itself)
        responses={200: {"description": "deliveries after the cursor, and the next cursor",
                         "content": {"application/json": {"schema": InboxOut}}}})
def get_inbox(query: dict):  # type: ignore[no-untyped-def]
    body = inbox.poll(engine_from_app(), current_caller(), query["after"], query["limit"], query["wait"])
    return current_app.response_class(orjson.dumps(body), mimetype="application/json")


@bp.post("/inbox/<int:delivery_id>/ack")
@caller_required("clerk", allow_agency_system=True)
@bp.output(AckOut)
@bp.doc(tags=["inbox"], summary="Xác nhận đã nhận / acknowledge (01): số đến and a signed receipt",
        responses={**CONFLICT, **NOT_FOUND})
def post_ack(delivery_id: int):  # type: ignore[no-untyped-def]
    key = _receipt_key()
    with _write() as session:
        return lifecycle.acknowledge(session, current_caller(), delivery_id, key)


@bp.post("/inbox/<int:delivery_id>/status")
@caller_required("clerk", allow_agency_system=True)
@bp.input(StatusIn, arg_name="body")
@bp.output(StatusOut)
@bp.doc(tags=["inbox"], summary="Cập nhật tình trạng / move along the lifecycle (02–06)",
        responses={**CONFLICT, **NOT_FOUND})
def post_status(delivery_id: int, body: dict):  # type: ignore[no-untyped-def]
    with _write() as session:
        return lifecycle.change_status(session, current_caller(), delivery_id, body["status"], body.get("reason"))


@bp.post("/inbox/<int:delivery_id>/recall-decision")
@caller_required("clerk", allow_agency_system=True)
@bp.input(RecallDecisionIn, arg_name="body")
@bp.output(StatusOut)
@bp.doc(tags=["inbox"], summary="Trả lời yêu cầu thu hồi / accept (15) or refuse (16) a recall",
        responses={**CONFLICT, **NOT_FOUND})
def post_recall_decision(delivery_id: int, body: dict):  # type: ignore[no-untyped-def]
    with _write() as session:
        return lifecycle.decide_recall(session, current_caller(), delivery_id, body["accept"], body["reason"])


@bp.post("/inbox/<int:delivery_id>/forward")
@caller_required("clerk", allow_agency_system=True)
@bp.input(IdempotencyHeaders, location="headers", arg_name="headers")
@bp.input(DispatchIn, arg_name="body")
@bp.output(DispatchOut, status_code=201)
@bp.doc(tags=["inbox"], summary="Chuyển tiếp / forward a received document down the tree (file unchanged)",
        responses={**CONFLICT, **NOT_FOUND, 200: "the same key and body were sent before"})
def post_forward(delivery_id: int, headers: dict, body: dict):  # type: ignore[no-untyped-def]
    view, created = dispatch.forward_delivery(engine_from_app(), current_caller(), delivery_id,
                                              _recipients(body), headers["idempotency_key"])
    return view, 201 if created else 200


@bp.get("/receipts/key")
@bp.output(ReceiptKeyOut)
@bp.doc(tags=["inbox"], summary="Khóa công khai ký biên nhận / the public key that signs receipts", security=[])
def get_receipt_key():  # type: ignore[no-untyped-def]
    key = _receipt_key()
    return {"kid": key.kid, "alg": "ES256", "jwk": {**key.jwk, "kid": key.kid}, "pem": key.public_pem,
            "how_to_verify": receipts.HOW_TO_VERIFY}
