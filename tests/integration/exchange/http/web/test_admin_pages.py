"""``/admin/…`` through Flask's test client: an administrator creates a user of the agency
(or one below it), sets its roles, deactivates it (its open web session is dead at once),
creates a token for it (the secret shown once, only its hash stored) and revokes it; each
audited with the administrator as the actor. Another province's administrator reaches none
of it; bad input is a 4xx in words that changes nothing; a form without its CSRF token is
refused; a clerk has no such page."""
from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from exchange.models import ApiToken, AuditEvent, User
from tests.db import session_scope
from tests.exchange_fixtures import snapshot
from tests.integration.exchange.http.web.test_foundation import BROWSER, csrf_of, log_in, world  # noqa: F401

NEW = {"username": "vanthu.moi", "full_name": "Trần Thị Mới", "position": "Văn thư", "roles": ["clerk"],
       "password": "mật-khẩu-đủ-dài-1"}


def _create(client, csrf: str, world, **changes):  # type: ignore[no-untyped-def]
    return client.post("/admin/users", data={**NEW, "agency": world.province, "csrf_token": csrf, **changes},
                       headers=BROWSER)


def _user(engine, username: str) -> User | None:
    with session_scope(engine) as s:
        return s.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()


def test_an_admin_creates_a_user_sets_roles_and_deactivation_ends_its_session(app, client, world, engine):
    csrf = log_in(client, world, "admin")
    r = _create(client, csrf, world)
    assert r.status_code == 303 and r.headers["Location"] == "/admin/users"
    page = client.get("/admin/users", headers=BROWSER).get_data(as_text=True)
    assert "vanthu.moi" in page and "Trần Thị Mới" in page and NEW["password"] not in page
    assert _user(engine, "vanthu.moi").roles == "clerk"

    assert client.post("/admin/users/vanthu.moi/roles", data={"csrf_token": csrf, "roles": ["clerk", "signer"]},
                       headers=BROWSER).status_code == 303
    assert _user(engine, "vanthu.moi").roles == "clerk,signer"

    other = app.test_client()  # the new user, logged in elsewhere
    token = csrf_of(other.get("/login").get_data(as_text=True))
    assert other.post("/login", data={"username": "vanthu.moi", "password": NEW["password"],
                                      "csrf_token": token}).status_code == 303
    assert other.get("/", headers=BROWSER).status_code == 200
    assert client.post("/admin/users/vanthu.moi/deactivate", data={"csrf_token": csrf},
                       headers=BROWSER).status_code == 303
    assert other.get("/", headers=BROWSER).status_code == 302  # its session is over
    assert not _user(engine, "vanthu.moi").active
    with session_scope(engine) as s:
        actions = s.execute(sa.select(AuditEvent.action).where(AuditEvent.object == "user:vanthu.moi",
                                                               AuditEvent.actor == world.people["admin"].username)
                            ).scalars().all()
    assert set(actions) == {"user.create", "user.roles", "user.deactivate"}


def test_a_token_is_shown_once_and_revoked(client, world, engine):
    csrf = log_in(client, world, "admin")
    r = client.post("/admin/tokens", data={"csrf_token": csrf, "username": world.people["clerk"].username,
                                           "name": "phần mềm một cửa"}, headers=BROWSER)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = html.split('<code id="new-token">', 1)[1].split("</code>", 1)[0]
    assert len(secret) > 30
    assert client.get("/api/v1/documents", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listing = client.get("/admin/tokens", headers=BROWSER).get_data(as_text=True)
    assert "phần mềm một cửa" in listing and secret not in listing
    with session_scope(engine) as s:
        token_id = s.execute(sa.select(ApiToken.id).where(ApiToken.name == "phần mềm một cửa")).scalar_one()
    assert client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf},
                       headers=BROWSER).status_code == 303
    assert client.get("/api/v1/documents", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_reloading_the_page_of_a_new_token_creates_no_second_one(client, world, engine):
    csrf = log_in(client, world, "admin")
    page = client.get("/admin/tokens", headers=BROWSER).get_data(as_text=True)
    key = page.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": csrf, "form_key": key, "username": world.people["clerk"].username, "name": "một lần"}
    first = client.post("/admin/tokens", data=form, headers=BROWSER)
    assert first.status_code == 200 and '<code id="new-token">' in first.get_data(as_text=True)
    again = client.post("/admin/tokens", data=form, headers=BROWSER)  # what a reload sends
    assert again.status_code == 409 and '<code id="new-token">' not in again.get_data(as_text=True)
    with session_scope(engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.name == "một lần")
                         ).scalar_one() == 1
    fresh = again.get_data(as_text=True).split('name="form_key" value="', 1)[1].split('"', 1)[0]
    assert fresh != key  # each page gives a new key for the next token
    assert client.post("/admin/tokens", data={**form, "form_key": fresh, "name": "lần hai"},
                       headers=BROWSER).status_code == 200


def test_another_provinces_admin_reaches_nothing(app, client, world, engine):
    csrf = log_in(client, world, "other_admin")
    page = client.get("/admin/users", headers=BROWSER).get_data(as_text=True)
    assert world.people["clerk"].username not in page
    assert world.people["clerk"].username not in client.get("/admin/tokens", headers=BROWSER).get_data(as_text=True)
    before = snapshot(engine, app)
    clerk = world.people["clerk"]
    assert client.post(f"/admin/users/{clerk.username}/deactivate", data={"csrf_token": csrf},
                       headers=BROWSER).status_code == 404
    assert client.post(f"/admin/users/{clerk.username}/roles", data={"csrf_token": csrf, "roles": ["admin"]},
                       headers=BROWSER).status_code == 404
    assert client.post("/admin/tokens", data={"csrf_token": csrf, "username": clerk.username},
                       headers=BROWSER).status_code == 404
    assert client.post(f"/admin/tokens/{clerk.token_id}/revoke", data={"csrf_token": csrf},
                       headers=BROWSER).status_code == 404
    assert _create(client, csrf, world).status_code == 404  # a user in another province
    assert snapshot(engine, app) == before


def test_bad_input_and_missing_csrf_change_nothing(app, client, world, engine):
    csrf = log_in(client, world, "admin")
    before = snapshot(engine, app)
    short = _create(client, csrf, world, password="ngắn")
    assert short.status_code == 422 and "ký tự" in short.get_data(as_text=True)
    assert 'value="vanthu.moi"' in short.get_data(as_text=True)  # what was typed is kept, the password is not
    assert _create(client, csrf, world, username="").status_code == 422
    assert _create(client, csrf, world, roles=["emperor"]).status_code == 422
    taken = _create(client, csrf, world, username=world.people["clerk"].username)
    assert taken.status_code == 409
    assert client.post("/admin/users/vanthu.moi/roles", data={"csrf_token": csrf, "roles": ["clerk"]},
                       headers=BROWSER).status_code == 404
    assert client.post("/admin/tokens/999999/revoke", data={"csrf_token": csrf}, headers=BROWSER).status_code == 404
    no_csrf = client.post("/admin/users", data={**NEW, "agency": world.province}, headers=BROWSER)
    assert no_csrf.status_code == 400
    assert client.post(f"/admin/users/{world.people['clerk'].username}/deactivate",
                       headers=BROWSER).status_code == 400
    assert snapshot(engine, app) == before


def test_a_clerk_has_no_admin_pages(client: FlaskClient, world):
    csrf = log_in(client, world, "clerk")
    for path in ("/admin", "/admin/users", "/admin/tokens"):
        assert client.get(path, headers=BROWSER).status_code == 403, path
    assert client.post("/admin/tokens", data={"csrf_token": csrf, "username": "x"}, headers=BROWSER).status_code == 403
