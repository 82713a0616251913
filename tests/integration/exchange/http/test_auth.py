"""Credentials: tokens of users and agency systems, the web session, login limits, the CLI."""
from __future__ import annotations

import json

import sqlalchemy as sa
import pytest

from exchange.services import accounts as users
from exchange.models import ApiToken, AuditEvent, LoginFailure, User
from tests.db import session_scope
from tests.exchange_fixtures import auth, build_world


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def test_tokens_are_stored_as_hashes_only(engine, world):
    with session_scope(engine) as s:
        stored = s.exec(sa.select(ApiToken.secret_sha256)).scalars().all()
    assert users.hash_secret(world.token("clerk")) in stored
    assert all(world.token("clerk") not in h for h in stored)


def test_who_is_calling(client, world):
    ok = client.get("/api/v1/audit/verify", headers=world.headers("auditor"))
    assert ok.status_code == 200
    # an agency token is the agency's system: no user roles
    assert client.get("/api/v1/audit/verify", headers=world.headers(world.province)).status_code == 403
    assert client.get("/api/v1/agencies", headers=world.headers(world.province)).status_code == 200


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer lt_nope",
                                    "Token lt_x"])
def test_no_or_bad_credentials_are_401(client, world, header):
    headers = {} if header is None else {"Authorization": header}
    r = client.get("/api/v1/agencies", headers=headers)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_revoked_tokens_and_inactive_users_are_401(client, engine, world):
    assert client.get("/api/v1/agencies", headers=auth(world.revoked_token)).status_code == 401
    with session_scope(engine, write=True) as s:
        user = s.get(User, world.people["signer"].id)
        user.active = False
        s.add(user)
    assert client.get("/api/v1/agencies", headers=world.headers("signer")).status_code == 401


def test_a_user_without_roles_is_403(client, world):
    r = client.get("/api/v1/agencies", headers=world.headers("norole"))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_login_sets_a_safe_cookie_and_logout_ends_it(client, world, engine):
    r = client.post("/api/v1/session", json={"username": "kiemtra.tinh", "password": world.password})
    assert r.status_code == 200 and r.json["roles"] == ["auditor"] and r.json["agency_code"] == world.province
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/v1/audit/verify").status_code == 200
    assert client.delete("/api/v1/session").status_code == 204
    assert client.get("/api/v1/audit/verify").status_code == 401
    with session_scope(engine) as s:
        actions = s.exec(sa.select(AuditEvent.action).where(AuditEvent.object == "user:kiemtra.tinh")).scalars().all()
    assert "session.login" in actions and "session.logout" in actions


def test_a_password_change_ends_existing_sessions(client, world, engine):
    client.post("/api/v1/session", json={"username": "kiemtra.tinh", "password": world.password})
    with session_scope(engine, write=True) as s:
        user = s.get(User, world.people["auditor"].id)
        user.password_hash = users._hasher.hash("một-mật-khẩu-mới-hẳn")
        s.add(user)
    assert client.get("/api/v1/audit/verify").status_code == 401


def test_login_failures_are_audited_and_rate_limited(client, world, engine):
    for _ in range(5):
        r = client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": "sai-mật-khẩu"})
        assert r.status_code == 401
    blocked = client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": world.password})
    assert blocked.status_code == 429 and blocked.json["error"]["code"] == "too_many_requests"
    assert 0 < int(blocked.headers["Retry-After"]) <= 30
    # another address is not blocked by these failures
    other = client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": world.password},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200
    with session_scope(engine) as s:
        failed = s.exec(sa.select(AuditEvent).where(AuditEvent.action == "session.login_failed")).scalars().all()
    # counted apart from the chain: one summary event for the first failure, not one per attempt
    assert len(failed) == 1 and failed[0].agency_code == world.province
    assert json.loads(failed[0].details)["failures_for_user"] == 1
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(LoginFailure)).scalar_one() == 5


def test_unknown_username_fails_like_a_wrong_password(client, world):
    r = client.post("/api/v1/session", json={"username": "không-có-ai", "password": "x"})
    assert r.status_code == 401


def test_cli_users_and_tokens(app, client, world, monkeypatch):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "vanthu.xa", "--agency", world.all_communes[0], "--roles",
                                  "clerk,signer", "--full-name", "Ngô Thị Xã", "--position", "Văn thư"],
                            env={"LIENTHONG_PASSWORD": "mật-khẩu-dài-đủ-rồi"})
    assert created.exit_code == 0, created.output
    token = runner.invoke(args=["tokens", "create", "--user", "vanthu.xa", "--name", "máy"])
    assert token.exit_code == 0
    secret = token.stdout.strip()
    assert secret.startswith("lt_") and "\n" not in secret  # the secret alone on stdout
    assert client.get("/api/v1/agencies", headers=auth(secret)).status_code == 200

    agency_token = runner.invoke(args=["tokens", "create", "--agency", world.all_communes[0]])
    assert agency_token.exit_code == 0
    assert client.get("/api/v1/agencies", headers=auth(agency_token.stdout.strip())).status_code == 200

    token_id = int(token.stderr.split("token id ")[1].split()[0])
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    assert client.get("/api/v1/agencies", headers=auth(secret)).status_code == 401

    assert runner.invoke(args=["tokens", "create"]).exit_code != 0
    assert runner.invoke(args=["tokens", "create", "--user", "ai-đó"]).exit_code == 1
    assert runner.invoke(args=["tokens", "revoke", "99999"]).exit_code == 1
    bad = runner.invoke(args=["users", "create", "x2", "--agency", "000.00.00.H99", "--roles", "clerk",
                              "--full-name", "X"], env={"LIENTHONG_PASSWORD": "mật-khẩu-dài-đủ-rồi"})
    assert bad.exit_code == 1
    bad = runner.invoke(args=["users", "create", "x3", "--agency", world.province, "--roles", "boss",
                              "--full-name", "X"], env={"LIENTHONG_PASSWORD": "mật-khẩu-dài-đủ-rồi"})
    assert bad.exit_code == 1 and "boss" in bad.output


def test_authenticate(engine, world):
    with session_scope(engine, write=True) as s:
        assert users.authenticate(s, "vanthu.tinh", world.password).username == "vanthu.tinh"
        assert users.authenticate(s, "vanthu.tinh", world.password + "x") is None
        assert users.authenticate(s, "nobody", world.password) is None


def test_the_cookie_is_secure_behind_https(settings, engine, world):
    from app import create_app

    app = create_app(settings.with_changes(base_url="https://lienthong.example.gov.vn"))
    try:
        r = app.test_client().post("/api/v1/session", json={"username": "vanthu.tinh", "password": world.password})
        assert r.status_code == 200 and "Secure" in r.headers["Set-Cookie"]
    finally:
        app.extensions["lienthong.engine"].dispose()


def test_cli_password_roles_and_deactivation(app, client, world, engine):
    runner = app.test_cli_runner()
    client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": world.password})
    assert client.get("/api/v1/agencies").status_code == 200
    new = "mật-khẩu-mới-của-văn-thư"
    assert runner.invoke(args=["users", "passwd", "vanthu.tinh"], env={"LIENTHONG_PASSWORD": new}).exit_code == 0
    assert client.get("/api/v1/agencies").status_code == 401  # the old session ended
    assert client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": new}).status_code == 200
    assert runner.invoke(args=["users", "passwd", "vanthu.tinh"], env={"LIENTHONG_PASSWORD": "ngắn"}).exit_code == 1

    assert runner.invoke(args=["users", "roles", "vanthu.tinh", "clerk,auditor"]).exit_code == 0
    assert client.get("/api/v1/audit/verify", headers=world.headers("clerk")).status_code == 200
    assert runner.invoke(args=["users", "roles", "vanthu.tinh", "chief"]).exit_code == 1

    assert runner.invoke(args=["users", "deactivate", "vanthu.tinh"]).exit_code == 0
    assert client.get("/api/v1/agencies").status_code == 401
    assert client.get("/api/v1/agencies", headers=world.headers("clerk")).status_code == 401
    assert client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": new}).status_code == 401
    assert runner.invoke(args=["users", "activate", "vanthu.tinh"]).exit_code == 0
    assert client.get("/api/v1/agencies", headers=world.headers("clerk")).status_code == 200
    with session_scope(engine) as s:
        actions = s.exec(sa.select(AuditEvent.action).where(AuditEvent.object == "user:vanthu.tinh")).scalars().all()
    assert {"user.password", "user.roles", "user.deactivate", "user.activate"} <= set(actions)
