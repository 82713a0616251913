"""The login limiter behind reverse proxies (``LIENTHONG_PROXY_HOPS``, applied with werkzeug's
ProxyFix): with one trusted hop the proxy's ``X-Forwarded-For`` names the client, so one
client's failures block that client only; with none the header is the client's own words
and changes nothing."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from errors import ErrorCode
from exchange.models import AuditEvent
from exchange.services.login_throttle import FREE_PER_PAIR as LOGIN_MAX_FAILURES
from tests.db import engine_from_app, session_scope
from tests.exchange_fixtures import PASSWORD, World, build_world

ATTACKER, COLLEAGUE = "203.0.113.5", "198.51.100.7"
USERNAME = "vanthu.tinh"  # the world's province clerk


@pytest.fixture
def proxied_app(settings: Any) -> Iterator[Flask]:
    from app import create_app

    application = create_app(settings.with_changes(proxy_hops=1))
    yield application
    application.extensions["lienthong.services"].close()


def _world(app: Flask) -> World:
    with session_scope(engine_from_app(app), write=True) as session:
        return build_world(session)


def _login(client: Any, password: str, forwarded_for: str | None) -> Any:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/api/v1/session", json={"username": USERNAME, "password": password}, headers=headers)


def _logged_ips(app: Flask, action: str) -> list[str]:
    with session_scope(engine_from_app(app)) as session:
        rows = session.execute(sa.select(AuditEvent.details).where(AuditEvent.action == action)
                               .order_by(AuditEvent.seq)).scalars().all()
    return [json.loads(details)["ip"] for details in rows]


def _fail_until_blocked(client: Any, forwarded_for: str | None) -> None:
    for _ in range(LOGIN_MAX_FAILURES):
        assert _login(client, "sai-mật-khẩu-rồi", forwarded_for).status_code == 401


def test_behind_one_proxy_the_forwarded_client_is_limited_alone(proxied_app):
    _world(proxied_app)
    client = proxied_app.test_client()
    _fail_until_blocked(client, ATTACKER)
    blocked = _login(client, PASSWORD, ATTACKER)  # even the right password, from the blocked client
    assert blocked.status_code == 429 and blocked.get_json()["error"]["code"] == ErrorCode.TOO_MANY_REQUESTS
    # a colleague reaching the service through the same proxy (same REMOTE_ADDR) is not blocked
    assert _login(client, PASSWORD, COLLEAGUE).status_code == 200
    # the proxy appends the address it saw: what the client put in front of it is not trusted
    assert _login(client, PASSWORD, f"{COLLEAGUE}, {ATTACKER}").status_code == 429
    assert _logged_ips(proxied_app, "session.login_failed") == [ATTACKER]  # a summary, not one per attempt
    assert _logged_ips(proxied_app, "session.login") == [COLLEAGUE]


def test_without_a_trusted_proxy_the_header_cannot_dodge_the_limiter(app, client):
    _world(app)
    for i in range(LOGIN_MAX_FAILURES):  # a new made-up address for every attempt
        assert _login(client, "sai-mật-khẩu-rồi", f"192.0.2.{i + 1}").status_code == 401
    assert _login(client, PASSWORD, "192.0.2.99").status_code == 429
    assert _login(client, PASSWORD, None).status_code == 429
    # the trail records the address the connection came from, not the header
    assert set(_logged_ips(app, "session.login_failed")) == {"127.0.0.1"}
