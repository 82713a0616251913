"""The web pages' foundation, through Flask's test client: server-side sessions (logout,
password change, deactivation, idle and absolute lifetimes end them for good), CSRF on every
form and on cookie-authenticated API calls, the security headers, the language switch, the
offline API docs and the start page showing nothing of another agency's."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exchange.models import WebSession, utcnow
from exchange.services import accounts
from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf, snapshot, store_document, upload_via_api

EN = {"Accept-Language": "en"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "every page carries its CSRF token"
    return found.group(1)


def log_in(client, world, who: str = "clerk", next_page: str = "/") -> str:
    """Logs in through the form; the CSRF token of the session."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": world.people[who].username, "password": world.password,
                                    "csrf_token": token, "next": next_page})
    assert r.status_code == 303, r.get_data(as_text=True)
    return csrf_of(client.get("/", headers=BROWSER).get_data(as_text=True))


def session_rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(WebSession.__table__)).all()


def test_login_page_is_vietnamese_by_default_and_english_on_switch(client):
    page = client.get("/login", headers=EN)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="vi">' in html and "Đăng nhập" in html
    assert 'name="username"' in html and 'name="password"' in html
    switched = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_of(html)})
    assert switched.status_code == 303 and switched.headers["Location"] == "/login"
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and "Log in" in english and "Đăng nhập" not in english
    assert client.post("/language", data={"lang": "fr", "csrf_token": csrf_of(english)}).status_code == 303
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)  # an unknown language changes nothing


def test_a_wrong_password_keeps_the_username_and_logs_nobody_in(client, world, engine):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "vanthu.tinh", "password": "sai-mật-khẩu-rồi", "csrf_token": token})
    html = r.get_data(as_text=True)
    assert r.status_code == 401 and 'value="vanthu.tinh"' in html and "sai-mật-khẩu-rồi" not in html
    assert "Sai tên đăng nhập hoặc mật khẩu".lower() in html.lower()
    empty = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert empty.status_code == 422 and "bắt buộc" in empty.get_data(as_text=True)
    assert session_rows(engine) == []
    assert client.get("/").status_code == 302


def test_login_lands_on_the_asked_page_never_on_another_host(client, world):
    assert client.get("/").headers["Location"] == "/login?next=/"
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "vanthu.tinh", "password": world.password, "csrf_token": token,
                                    "next": "//evil.example/steal"})
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_the_session_is_server_side_and_logout_makes_the_old_cookie_worthless(client, world, engine):
    csrf = log_in(client, world)
    (row,) = session_rows(engine)
    cookie = client.get_cookie("session").value
    assert row.user_id == world.people["clerk"].id and row.revoked_at is None
    assert row.secret_sha256 not in cookie  # the cookie holds the secret, the row only its hash
    assert client.get("/", headers=BROWSER).status_code == 200
    assert client.get("/api/v1/agencies").status_code == 200  # the API takes the session cookie too
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    (row,) = session_rows(engine)
    assert row.revoked_at is not None
    client.set_cookie("session", cookie)  # the old cookie, replayed
    assert client.get("/", headers=BROWSER).status_code == 302
    assert client.get("/api/v1/agencies").status_code == 401


@pytest.mark.parametrize("change", ["password", "deactivation"])
def test_a_password_change_or_a_deactivation_revokes_the_sessions(app, client, world, engine, change):
    log_in(client, world)
    services = app.extensions["lienthong.services"]
    if change == "password":
        accounts.change_password(services, "vanthu.tinh", "một-mật-khẩu-mới-hoàn-toàn")
    else:
        accounts.change_active(services, "vanthu.tinh", False)
    (row,) = session_rows(engine)
    assert row.revoked_at is not None
    assert client.get("/api/v1/agencies").status_code == 401


@pytest.mark.parametrize("column, age", [("last_seen_at", timedelta(minutes=31)),
                                         ("created_at", timedelta(hours=12, minutes=1))])
def test_idle_and_absolute_lifetimes_end_a_session(client, world, engine, column, age):
    log_in(client, world)
    assert client.get("/api/v1/agencies").status_code == 200
    with engine.begin() as conn:
        conn.execute(sa.update(WebSession.__table__).values({column: utcnow() - age}))
    assert client.get("/api/v1/agencies").status_code == 401


def test_an_active_session_is_touched_at_most_once_a_minute(client, world, engine):
    log_in(client, world)
    with engine.begin() as conn:
        conn.execute(sa.update(WebSession.__table__).values(last_seen_at=utcnow() - timedelta(minutes=29)))
    assert client.get("/api/v1/agencies").status_code == 200
    (row,) = session_rows(engine)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)  # kept alive by the request


def test_forms_without_their_csrf_token_are_refused_and_change_nothing(app, client, world, engine):
    before_login = client.post("/login", data={"username": "vanthu.tinh", "password": world.password},
                               headers=BROWSER)
    assert before_login.status_code == 400 and session_rows(engine) == []
    assert "mã bảo vệ" in before_login.get_data(as_text=True)
    json_refusal = client.post("/login", data={"username": "vanthu.tinh", "password": world.password})
    assert json_refusal.get_json()["error"]["code"] == "csrf_failed"
    log_in(client, world)
    before = snapshot(engine, app)
    assert client.post("/logout", data={}).status_code == 400
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert snapshot(engine, app) == before
    assert client.get("/", headers=BROWSER).status_code == 200  # still logged in


def test_cookie_authenticated_api_calls_need_the_csrf_header_bearer_calls_do_not(app, client, world, engine):
    csrf = log_in(client, world)
    before = snapshot(engine, app)
    refused = upload_via_api(client, {})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert snapshot(engine, app) == before
    assert upload_via_api(client, {"X-CSRFToken": csrf}).status_code == 201
    other = app.test_client()  # no cookie: a token's call is not a cookie's
    assert upload_via_api(other, world.headers("clerk")).status_code == 201


def test_security_headers_on_pages_api_and_pdfs(app, client, world, engine):
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    for r in (page, client.get("/api/v1/agencies"), client.get("/healthz")):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in r.headers  # plain http: no HSTS
    with session_scope(engine, write=True) as s:
        doc = store_document(s, app.extensions["lienthong.blobs"], world, pdf=make_pdf())
    pdf = client.get(f"/api/v1/documents/{doc}/content", headers=world.headers("clerk"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Security-Policy"].split(";")[0] == "sandbox"


def test_hsts_when_the_base_url_is_https(settings):
    from app import create_app

    app = create_app(settings.with_changes(base_url="https://lienthong.example.gov.vn"))
    try:
        r = app.test_client().get("/login")
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.extensions["lienthong.services"].close()


def test_the_api_docs_are_served_offline_without_inline_scripts(client):
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "openapi.json" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script"
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing from another host"
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert client.get(src).status_code == 200, src
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404


def test_the_start_page_shows_what_waits_and_nothing_of_another_agency(app, client, world, engine):
    with session_scope(engine, write=True) as s:
        blobs = app.extensions["lienthong.blobs"]
        store_document(s, blobs, world, "clerk", subject="Dự thảo của tỉnh mình")
        store_document(s, blobs, world, "other_clerk", subject="Dự thảo của tỉnh bên cạnh")
    log_in(client, world, "signer")
    html = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "Chờ ký" in html and "Dự thảo của tỉnh mình" in html
    assert "Dự thảo của tỉnh bên cạnh" not in html
    client.post("/logout", data={"csrf_token": csrf_of(html)})
    log_in(client, world, "other_signer")
    html = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "Dự thảo của tỉnh bên cạnh" in html and "Dự thảo của tỉnh mình" not in html


def test_a_page_refuses_a_user_without_any_role(client, world):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "khach.tinh", "password": world.password, "csrf_token": token})
    assert r.status_code == 303
    assert client.get("/", headers=BROWSER).status_code == 403


def test_a_login_that_rehashes_the_password_keeps_its_session(client, world, engine):
    from argon2 import PasswordHasher

    from exchange.models import User

    older = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1).hash(world.password)  # other parameters
    with session_scope(engine, write=True) as s:
        user = s.get(User, world.people["clerk"].id)
        user.password_hash = older
        s.add(user)
    log_in(client, world)
    assert client.get("/api/v1/agencies").status_code == 200
    with session_scope(engine) as s:
        assert s.get(User, world.people["clerk"].id).password_hash != older  # the new hash was kept


def test_the_printable_report_keeps_its_own_styles_and_nothing_else_inline(app, client, world, engine):
    import base64
    import hashlib

    with session_scope(engine, write=True) as s:
        doc = store_document(s, app.extensions["lienthong.blobs"], world, pdf=make_pdf())
    r = client.get(f"/api/v1/documents/{doc}/verification?format=html", headers=world.headers("clerk"))
    html = r.get_data(as_text=True)
    (style,) = re.findall(r"<style[^>]*>(.*?)</style>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    csp = r.headers["Content-Security-Policy"]
    assert f"'sha256-{digest}'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
