"""HTTP handlers of the exchange core: session, agencies, audit, documents.

Thin: each parses (APIFlask schemas), calls one service function in one unit of work, and
renders. Errors are typed (errors.py) and leave in one shape.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import request

from exchange import agencies, audit
from exchange.auth import caller_required, current_caller, login, raise_for, start_web_session
from exchange.schemas import (AgencyList, AgencyQuery, AuditList, AuditQuery, ChainCheckOut, LoginIn,
                              SessionOut)
from storage.db import engine_from_app, session_scope

bp = APIBlueprint("exchange", __name__, url_prefix="/api/v1", tag="exchange")


def _db(write: bool = False):  # type: ignore[no-untyped-def]
    return session_scope(engine_from_app(), write=write)


def _client_ip() -> str:
    # behind a proxy, ProxyFix (configured by the deployment) sets remote_addr
    return request.remote_addr or ""


# --- session ----------------------------------------------------------------------------

@bp.post("/session")
@bp.input(LoginIn, arg_name="body")
@bp.output(SessionOut)
@bp.doc(tags=["session"], summary="Đăng nhập / log in (web session cookie)", security=[],
        responses={401: "wrong username or password", 429: "too many failed attempts"})
def post_session(body: dict):  # type: ignore[no-untyped-def]
    with _db(write=True) as session:
        outcome = login(session, body["username"], body["password"], _client_ip())
    raise_for(outcome)  # after the commit: a failure's audit event is kept
    user = outcome.user
    start_web_session(user)  # type: ignore[arg-type]
    return {"username": user.username, "full_name": user.full_name,  # type: ignore[union-attr]
            "agency_code": outcome.agency_code, "roles": sorted(user.role_set)}  # type: ignore[union-attr]


@bp.delete("/session")
@bp.output({}, status_code=204)
@bp.doc(tags=["session"], summary="Đăng xuất / log out", security=[])
def delete_session():  # type: ignore[no-untyped-def]
    from flask import session as web_session

    web_session.clear()
    return ""


# --- agencies ---------------------------------------------------------------------------

@bp.get("/agencies")
@caller_required(allow_agency_system=True)
@bp.input(AgencyQuery, location="query", arg_name="query")
@bp.output(AgencyList)
@bp.doc(tags=["agencies"], summary="Danh bạ cơ quan / the agency directory")
def get_agencies(query: dict):  # type: ignore[no-untyped-def]
    with _db() as session:
        rows = agencies.list_agencies(session, parent=query.get("parent"), after=query["after"],
                                      limit=query["limit"] + 1)
        more = len(rows) > query["limit"]
        rows = rows[: query["limit"]]
        items = [agencies.agency_json(a, session=session) for a in rows]
    return {"items": items, "next_cursor": items[-1]["code"] if more and items else None}


# --- audit ------------------------------------------------------------------------------

@bp.get("/audit")
@caller_required("auditor", "admin")
@bp.input(AuditQuery, location="query", arg_name="query")
@bp.output(AuditList)
@bp.doc(tags=["audit"], summary="Nhật ký kiểm toán / the audit trail",
        description="Events of the caller's agency and of every agency below it, oldest first.")
def get_audit(query: dict):  # type: ignore[no-untyped-def]
    caller = current_caller()
    with _db() as session:
        codes = [caller.agency_code] + [a.code for a in agencies.descendants(session, caller.agency_code)]
        rows = audit.list_events(session, agency_codes=codes, after=query["after"], limit=query["limit"] + 1)
        more = len(rows) > query["limit"]
        items = [audit.event_json(e) for e in rows[: query["limit"]]]
    return {"items": items, "next_cursor": items[-1]["seq"] if more and items else None}


@bp.get("/audit/verify")
@caller_required("auditor", "admin")
@bp.output(ChainCheckOut)
@bp.doc(tags=["audit"], summary="Kiểm tra chuỗi nhật ký / check the audit chain",
        description="Walks the whole chain; `first_broken` is the first event whose link, position or "
                    "content does not match.")
def get_audit_verify():  # type: ignore[no-untyped-def]
    with _db() as session:
        return audit.verify_chain(session).to_json()
