"""``/audit`` through Flask's test client: an auditor reads and searches the trail of the
agency and those below it (never another province's), "check the chain" says in words
that it is intact, and names the first broken event once a row is changed behind the
service's back; the button needs its CSRF token; a clerk has no such page."""
from __future__ import annotations

import sqlalchemy as sa

from exchange.adapters import audit_log
from exchange.models import AuditEvent
from tests.db import session_scope
from tests.integration.exchange.http.web.test_foundation import BROWSER, log_in, world  # noqa: F401


def _events(engine, world) -> None:  # type: ignore[no-untyped-def]
    commune = world.all_communes[0]
    with session_scope(engine, write=True) as s:
        for code, action, obj in ((world.province, "web2.province_act", "document:901"),
                                  (commune, "web2.commune_act", "document:902"),
                                  (world.other_province, "web2.secret_act", "document:903")):
            audit_log.record(s, actor=f"tester.{code}", agency_code=code, action=action, object=obj,
                             details={"note": "web2"}, agency_ids=[world.agency_ids[code]])


def test_an_auditor_searches_the_trail_of_the_agency_and_those_below_only(client, world, engine):
    _events(engine, world)
    log_in(client, world, "auditor")
    html = client.get("/audit", headers=BROWSER).get_data(as_text=True)
    assert "web2.province_act" in html and "web2.commune_act" in html
    assert "web2.secret_act" not in html and "document:903" not in html
    found = client.get("/audit?q=commune_act", headers=BROWSER).get_data(as_text=True)
    assert "web2.commune_act" in found and "web2.province_act" not in found
    by_agency = client.get(f"/audit?agency={world.all_communes[0]}", headers=BROWSER).get_data(as_text=True)
    assert "web2.commune_act" in by_agency and "web2.province_act" not in by_agency
    refused = client.get(f"/audit?agency={world.other_province}", headers=BROWSER)
    assert refused.status_code == 422 and "web2.secret_act" not in refused.get_data(as_text=True)
    assert client.get("/audit?since=2026-13-40", headers=BROWSER).status_code == 422
    backwards = client.get("/audit?since=2026-05-02&until=2026-05-01", headers=BROWSER)
    assert backwards.status_code == 422 and "web2" not in backwards.get_data(as_text=True)
    assert "web2.province_act" not in client.get("/audit?until=2000-01-01", headers=BROWSER).get_data(as_text=True)


def test_another_provinces_auditor_sees_none_of_it(client, world, engine):
    _events(engine, world)
    log_in(client, world, "other_auditor")
    html = client.get("/audit", headers=BROWSER).get_data(as_text=True)
    assert "web2.secret_act" in html and "web2.province_act" not in html and "web2.commune_act" not in html


def test_check_the_chain_says_intact_then_names_the_changed_event(client, world, engine):
    _events(engine, world)
    csrf = log_in(client, world, "auditor")
    assert client.post("/audit/check", headers=BROWSER).status_code == 400  # no CSRF token: refused
    r = client.post("/audit/check", data={"csrf_token": csrf}, headers=BROWSER)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "chain-ok" in html and "nguyên vẹn" in html
    with session_scope(engine, write=True) as s:
        seq = s.execute(sa.select(AuditEvent.seq).where(AuditEvent.action == "web2.commune_act")).scalar_one()
        s.execute(sa.update(AuditEvent).where(AuditEvent.seq == seq).values(object="document:666"))
    html = client.post("/audit/check", data={"csrf_token": csrf}, headers=BROWSER).get_data(as_text=True)
    assert "chain-broken" in html and f"sự kiện {seq}" in html


def test_a_clerk_has_no_audit_page(client, world):
    csrf = log_in(client, world, "clerk")
    assert client.get("/audit", headers=BROWSER).status_code == 403
    assert client.post("/audit/check", data={"csrf_token": csrf}, headers=BROWSER).status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get("/audit").status_code == 302
