"""``/api/v1/audit``: the audit trail and its chain check, for auditors."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, List, Nested
from apiflask.validators import Range

from exchange.domain.enums import Role
from exchange.http.auth import caller_required, current_caller, services
from exchange.services import audit
from exchange.services.input_rules import Integer, String

bp = APIBlueprint("api_audit", __name__, url_prefix="/api/v1", tag="audit")


class AuditQuery(Schema):
    after = Integer(load_default=0, validate=Range(min=0))
    limit = Integer(load_default=100, validate=Range(1, 1000))


class AuditEventOut(Schema):
    seq = Integer()
    at = String(metadata={"description": "RFC 3339, UTC"})
    actor = String()
    agency_code = String()
    action = String()
    object = String()
    details = Dict()
    prev_hash = String()
    hash = String()


class AuditList(Schema):
    items = List(Nested(AuditEventOut))
    next_cursor = Integer(allow_none=True)


class ChainCheckOut(Schema):
    ok = Boolean()
    checked = Integer()
    first_broken = Integer(allow_none=True)


@bp.get("/audit")
@caller_required(Role.AUDITOR, Role.ADMIN)
@bp.input(AuditQuery, location="query", arg_name="query")
@bp.output(AuditList)
@bp.doc(tags=["audit"], summary="Nhật ký kiểm toán / the audit trail",
        description="Events of the caller's agency and of every agency below it, oldest first.")
def get_audit(query: dict[str, Any]) -> dict[str, Any]:
    return audit.visible_events(services(), current_caller(), after=query["after"], limit=query["limit"])


@bp.get("/audit/verify")
@caller_required(Role.AUDITOR, Role.ADMIN)
@bp.output(ChainCheckOut)
@bp.doc(tags=["audit"], summary="Kiểm tra chuỗi nhật ký / check the audit chain",
        description="Walks the whole chain; `first_broken` is the first event whose link, position or "
                    "content does not match.")
def get_audit_verify() -> dict[str, Any]:
    return audit.verify_chain(services()).to_json()
