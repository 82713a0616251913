"""The events feed: everything that concerns the caller's agency, oldest first (long-poll)."""
from __future__ import annotations

from typing import Any

import orjson
from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, List, Nested
from apiflask.validators import Range
from flask import Response, current_app

from exchange.domain.enums import Role
from exchange.http.api.common import query_input
from exchange.http.api.inbox import PageQuery
from exchange.http.auth import caller_required, current_caller, services
from exchange.services import events
from exchange.services.inbox import LIMIT_MAX
from exchange.services.input_rules import Integer, String

bp = APIBlueprint("api_events", __name__, url_prefix="/api/v1", tag="events")


class EventsQuery(PageQuery):
    limit = Integer(load_default=100, validate=Range(1, LIMIT_MAX))


class EventOut(Schema):
    id = Integer()
    seq = Integer(metadata={"description": "gapless per agency: the cursor"})
    kind = String(metadata={"description": "delivery.created, recall.requested, recall.decided, document.replaced "
                                           "(as a recipient); delivery.acked, delivery.status, recall.decided, "
                                           "forwarded (as a sender)"})
    at = String()
    delivery_id = Integer(metadata={"description": "the caller's agency's own delivery (received or sent)"})
    document_id = Integer()
    data = Dict()


class EventsOut(Schema):
    items = List(Nested(EventOut))
    next_cursor = String()


@bp.get("/events")
@caller_required(Role.CLERK, allow_agency_system=True)
@query_input(bp, EventsQuery)
@bp.doc(tags=["events"], summary="Sự kiện / what concerns the agency, oldest first (long-poll with wait)",
        # polled as often as the inbox: the service builds exactly this shape (no re-serialisation)
        responses={200: {"description": "events after the cursor, and the next cursor",
                         "content": {"application/json": {"schema": EventsOut}}}})  # type: ignore[arg-type]  # mypy cannot fit this literal to APIFlask's union
def get_events(query: dict[str, Any]) -> Response:
    body = events.poll(services(), current_caller(), query["after"], query["limit"], query["wait"])
    return current_app.response_class(orjson.dumps(body), mimetype="application/json")
