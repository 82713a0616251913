"""POST/GET/DELETE /api/v1/webhooks and the delivery log over the WSGI test client: the secret
shown once, URLs refused with a clear 422 (and nothing written), another agency refused.
Who may call each endpoint at all: test_security_matrix.py."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import create_app
from exchange.models import AuditEvent, WebhookSubscription
from settings import Settings
from tests.db import engine_from_app, session_scope
from tests.integration.exchange.delivery_support import world
from tests.integration.exchange.webhook_support import PUBLIC_URL


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


def test_the_secret_is_shown_once_and_each_agency_sees_and_deletes_only_its_own(app, client, w):
    commune = w.all_communes[0]
    r = client.post("/api/v1/webhooks", json={"url": PUBLIC_URL, "description": "Hệ thống một cửa"},
                    headers=w.headers("admin"))
    assert r.status_code == 201, r.json
    created = r.json
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert (created["url"], created["description"], created["created_by"]) == \
        (PUBLIC_URL, "Hệ thống một cửa", "quantri.tinh")
    mine = client.post("/api/v1/webhooks", json={"url": PUBLIC_URL + "/xa"}, headers=w.headers(commune)).json
    assert mine["secret"] != created["secret"]

    listed = client.get("/api/v1/webhooks", headers=w.headers("admin")).json["items"]
    assert [h["id"] for h in listed] == [created["id"]] and "secret" not in listed[0]
    assert [h["id"] for h in client.get("/api/v1/webhooks", headers=w.headers(commune)).json["items"]] == \
        [mine["id"]]
    with session_scope(engine_from_app(app)) as s:  # the audit trail names the URL, never the secret
        details = s.execute(sa.select(AuditEvent.details).where(AuditEvent.action == "webhook.create")).scalars().all()
    assert len(details) == 2 and not any(created["secret"] in d or mine["secret"] in d for d in details)

    for stranger in ("other_admin", w.other_province, w.all_communes[1]):
        assert client.get("/api/v1/webhooks", headers=w.headers(stranger)).json["items"] == []
        r = client.delete(f"/api/v1/webhooks/{created['id']}", headers=w.headers(stranger))
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
        assert client.get(f"/api/v1/webhooks/{created['id']}/deliveries",
                          headers=w.headers(stranger)).status_code == 404
    log = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=w.headers("admin"))
    assert log.status_code == 200 and log.json["items"] == [] and log.json["subscription"]["id"] == created["id"]

    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=w.headers("admin")).status_code == 204
    assert client.get("/api/v1/webhooks", headers=w.headers("admin")).json["items"] == []
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=w.headers("admin")).status_code == 404
    assert client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=w.headers("admin")).status_code == 404


@pytest.mark.parametrize("url", [
    "ftp://93.184.215.14/hook", "javascript:alert(1)", "http:///nohost", "93.184.215.14/hook", "http://[::1",
    "https://user:secret@93.184.215.14/hook", "https://token@93.184.215.14/hook",
    "http://127.0.0.1:8080/hook", "http://10.1.2.3/", "http://192.168.1.10/", "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/", "http://100.64.0.1/", "http://0.0.0.0/", "http://localhost/hook",
    "http://224.0.0.1/", "https://93.184.215.14/" + "a" * 2000, "https://ví..vn/hook",
])
def test_bad_or_private_urls_are_422_with_the_field_and_nothing_is_written(app, client, w, url):
    r = client.post("/api/v1/webhooks", json={"url": url}, headers=w.headers("admin"))
    assert r.status_code == 422, (url, r.status_code, r.json)
    assert r.json["error"]["code"] == "invalid" and "url" in str(r.json["error"])
    assert "secret" not in url or "secret" not in str(r.json)  # the credentials are not echoed back
    with session_scope(engine_from_app(app)) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(WebhookSubscription)).scalar() == 0


@pytest.mark.parametrize("body", [{}, {"url": 5}, {"url": PUBLIC_URL, "description": "x" * 256},
                                  {"url": PUBLIC_URL, "extra": 1}])
def test_wrong_body_shapes_are_422(client, w, body):
    r = client.post("/api/v1/webhooks", json=body, headers=w.headers("admin"))
    assert r.status_code == 422, r.json
    assert set(r.json) == {"error"}


def test_messages_are_vietnamese_first(client, w):
    r = client.post("/api/v1/webhooks", json={"url": "ftp://x.example/"}, headers=w.headers("admin"))
    assert r.json["error"]["message"] == "URL gọi lại không hợp lệ"
    assert "http://" in r.json["error"]["fields"]["url"]


def test_private_addresses_are_accepted_when_the_setting_allows_them(tmp_path, database_url):
    app = create_app(Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True,
                              webhooks_allow_private=True))
    try:
        w = world(engine_from_app(app))
        r = app.test_client().post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"},
                                   headers=w.headers("admin"))
        assert r.status_code == 201, r.json
        # credentials stay refused, whatever the setting
        r = app.test_client().post("/api/v1/webhooks", json={"url": "http://a:b@127.0.0.1:9/hook"},
                                   headers=w.headers("admin"))
        assert r.status_code == 422
    finally:
        app.extensions["lienthong.services"].close()
