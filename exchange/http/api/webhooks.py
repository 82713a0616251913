"""Webhooks: an agency's callback URLs (its admin or its system) and their delivery log."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import List, Nested
from apiflask.validators import Length, Range

from exchange.domain.enums import Role
from exchange.http.api.common import query_input
from exchange.http.auth import caller_required, current_caller, services
from exchange.services import webhooks
from exchange.services.input_rules import Integer, String

bp = APIBlueprint("api_webhooks", __name__, url_prefix="/api/v1", tag="webhooks")
NOT_YOURS = {404: "no such webhook for the caller's agency"}


class WebhookIn(Schema):
    url = String(required=True, validate=Length(1, webhooks.URL_MAX),
                 metadata={"description": "http(s) URL without credentials; a public address"})
    description = String(load_default="", validate=Length(max=webhooks.DESCRIPTION_MAX))


class WebhookOut(Schema):
    id = Integer()
    url = String()
    description = String()
    cursor = Integer(metadata={"description": "seq of the last event delivered (or given up)"})
    created_at = String()
    created_by = String()


class WebhookCreated(WebhookOut):
    secret = String(metadata={"description": "signs every body (Lienthong-Signature: t=<unix>,v1=<hex of "
                                             "HMAC-SHA256(secret, \"<t>.\" + body)>); shown only here, once"})


class WebhookList(Schema):
    items = List(Nested(WebhookOut))


class DeliveryOut(Schema):
    event_id = Integer()
    event_seq = Integer()
    attempts = Integer()
    status_code = Integer(allow_none=True)
    error = String()
    state = String(metadata={"description": "pending | delivered | failed"})
    next_attempt_at = String(allow_none=True)
    updated_at = String()


class DeliveryLog(Schema):
    subscription = Nested(WebhookOut)
    items = List(Nested(DeliveryOut))


class LogQuery(Schema):
    limit = Integer(load_default=100, validate=Range(1, webhooks.LOG_LIMIT_MAX))


@bp.post("/webhooks")
@caller_required(Role.ADMIN, allow_agency_system=True)
@bp.input(WebhookIn, arg_name="body")
@bp.output(WebhookCreated, status_code=201)
@bp.doc(tags=["webhooks"], summary="Đăng ký webhook / POST each of the agency's events to a URL")
def post_webhook(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    return webhooks.subscribe(services(), current_caller(), body["url"], body["description"]), 201


@bp.get("/webhooks")
@caller_required(Role.ADMIN, allow_agency_system=True)
@bp.output(WebhookList)
@bp.doc(tags=["webhooks"], summary="Các webhook / the agency's webhooks (without their secrets)")
def get_webhooks() -> dict[str, Any]:
    return {"items": webhooks.list_subscriptions(services(), current_caller())}


@bp.delete("/webhooks/<int:subscription_id>")
@caller_required(Role.ADMIN, allow_agency_system=True)
@bp.output({}, status_code=204)
@bp.doc(tags=["webhooks"], summary="Xóa webhook / stop delivering to it", responses=NOT_YOURS)
def delete_webhook(subscription_id: int) -> tuple[str, int]:
    webhooks.unsubscribe(services(), current_caller(), subscription_id)
    return "", 204


@bp.get("/webhooks/<int:subscription_id>/deliveries")
@caller_required(Role.ADMIN, allow_agency_system=True)
@query_input(bp, LogQuery)
@bp.output(DeliveryLog)
@bp.doc(tags=["webhooks"], summary="Nhật ký gửi webhook / the delivery log, newest event first",
        responses=NOT_YOURS)
def get_deliveries(subscription_id: int, query: dict[str, Any]) -> dict[str, Any]:
    return webhooks.delivery_log(services(), current_caller(), subscription_id, query["limit"])
