"""``/api/v1/session``: logging in and out with a web session cookie."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import List
from apiflask.validators import Length
from flask_wtf.csrf import generate_csrf  # type: ignore[import-untyped]  # no type hints shipped

from exchange.http.auth import client_ip, end_web_session, services, start_web_session
from exchange.services import login
from exchange.services.input_rules import String

bp = APIBlueprint("api_session", __name__, url_prefix="/api/v1", tag="session")


class LoginIn(Schema):
    username = String(required=True, validate=Length(1, 100))
    password = String(required=True, validate=Length(1, 1000), load_only=True)


class SessionOut(Schema):
    username = String()
    full_name = String()
    agency_code = String()
    roles = List(String())
    csrf_token = String(metadata={"description": "send it back in the `X-CSRFToken` header with every change "
                                                 "made through this session's cookie"})


@bp.post("/session")
@bp.input(LoginIn, arg_name="body")
@bp.output(SessionOut)
@bp.doc(tags=["session"], summary="Đăng nhập / log in (web session cookie)", security=[],
        responses={401: "wrong username or password", 429: "too many failed attempts"})
def post_session(body: dict[str, Any]) -> dict[str, Any]:
    user = login.login(services(), body["username"], body["password"], client_ip())
    start_web_session(user)
    return {"username": user.username, "full_name": user.full_name, "agency_code": user.agency_code,
            "roles": user.roles, "csrf_token": generate_csrf()}


@bp.delete("/session")
@bp.output({}, status_code=204)
@bp.doc(tags=["session"], summary="Đăng xuất / log out", security=[])
def delete_session() -> str:
    end_web_session()
    return ""
