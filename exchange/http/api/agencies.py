"""``/api/v1/agencies``: the directory."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import List, Nested
from apiflask.validators import Length, Range

from exchange.http.auth import caller_required, services
from exchange.services import directory
from exchange.services.input_rules import Integer, String

bp = APIBlueprint("api_agencies", __name__, url_prefix="/api/v1", tag="agencies")


class AgencyQuery(Schema):
    parent = String(validate=Length(1, 35), metadata={"description": "only the direct children of this code"})
    after = String(load_default="", validate=Length(0, 35), metadata={"description": "cursor: the last code seen"})
    limit = Integer(load_default=100, validate=Range(1, 1000))


class AgencyOut(Schema):
    code = String()
    name = String()
    short_name = String()
    level = String()
    parent_code = String(allow_none=True)
    successor_code = String(allow_none=True)
    valid_from = String(allow_none=True)
    valid_to = String(allow_none=True)


class AgencyList(Schema):
    items = List(Nested(AgencyOut))
    next_cursor = String(allow_none=True)


@bp.get("/agencies")
@caller_required(allow_agency_system=True)
@bp.input(AgencyQuery, location="query", arg_name="query")
@bp.output(AgencyList)
@bp.doc(tags=["agencies"], summary="Danh bạ cơ quan / the agency directory")
def get_agencies(query: dict[str, Any]) -> dict[str, Any]:
    return directory.directory_page(services(), parent=query.get("parent"), after=query["after"],
                                    limit=query["limit"])
