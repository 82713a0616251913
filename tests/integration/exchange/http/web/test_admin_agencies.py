"""``/admin/agencies`` through Flask's test client: an administrator imports agencies below
the province from CSV and merges two communes; a file naming an agency outside the
province (or the province itself, or moving another province's commune under it) is
refused whole and writes nothing; a bad row is named by its line; another province's
administrator can neither see nor merge ours; no CSRF token, no change."""
from __future__ import annotations

import io

import sqlalchemy as sa

from exchange.models import Agency, AuditEvent
from tests.db import session_scope
from tests.exchange_fixtures import snapshot
from tests.integration.exchange.http.web.test_foundation import BROWSER, log_in, world  # noqa: F401

HEADER = "code,name,level,parent_code\n"


def _import(client, csrf: str | None, text: str):  # type: ignore[no-untyped-def]
    data: dict = {"file": (io.BytesIO(text.encode("utf-8")), "co-quan.csv")}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post("/admin/agencies/import", data=data, content_type="multipart/form-data", headers=BROWSER)


def _agency(engine, code: str) -> Agency | None:
    with session_scope(engine) as s:
        return s.execute(sa.select(Agency).where(Agency.code == code)).scalar_one_or_none()


def test_an_admin_imports_a_commune_and_merges_two(app, client, world, engine):
    csrf = log_in(client, world, "admin")
    district = world.districts[0]
    r = _import(client, csrf, HEADER + f"000.06.01.H62,Xã Mới Lập,commune,{district}\n")
    assert r.status_code == 303, r.get_data(as_text=True)
    page = client.get("/admin/agencies", headers=BROWSER).get_data(as_text=True)
    assert "Xã Mới Lập" in page and "1 cơ quan mới" in page
    old, into = world.communes[district][0], world.communes[district][1]
    merged = client.post("/admin/agencies/merge", data={"csrf_token": csrf, "old": old, "into": into,
                                                        "effective": "2027-01-01"}, headers=BROWSER)
    assert merged.status_code == 303
    assert _agency(engine, old).successor_id == _agency(engine, into).id
    with session_scope(engine) as s:
        actors = s.execute(sa.select(AuditEvent.actor).where(AuditEvent.action.in_(("agency.merge",)))).scalars().all()
    assert actors == [world.people["admin"].username]


def test_a_file_reaching_outside_the_province_is_refused_whole(app, client, world, engine):
    csrf = log_in(client, world, "admin")
    district = world.districts[0]
    before = snapshot(engine, app)
    good = f"000.07.01.H62,Xã Hợp Lệ,commune,{district}\n"
    for label, rows in {"another province's new agency": f"000.01.01.H63,Xã Bên Cạnh,commune,{world.other_province}\n",
                        "the province itself": f"{world.province},Tỉnh Đổi Tên,province,\n",
                        }.items():
        r = _import(client, csrf, HEADER + good + rows)
        assert r.status_code == 403, label
        assert world.other_province in r.get_data(as_text=True) or world.province in r.get_data(as_text=True)
    bad = _import(client, csrf, HEADER + good + "000.08.01.H62,Xã Sai Cấp,planet,000.00.01.H62\n")
    assert bad.status_code == 422 and "dòng 3:" in bad.get_data(as_text=True)  # the bad row's line
    assert _import(client, csrf, "").status_code == 422
    assert _import(client, None, HEADER + good).status_code == 400  # no CSRF token
    assert client.post("/admin/agencies/merge", data={"csrf_token": csrf, "old": world.province,
                                                      "into": district, "effective": "2027-01-01"},
                       headers=BROWSER).status_code == 404
    assert client.post("/admin/agencies/merge", data={"csrf_token": csrf, "old": district, "into": district,
                                                      "effective": "2027-01-01"}, headers=BROWSER).status_code == 422
    assert client.post("/admin/agencies/merge", data={"csrf_token": csrf, "old": district,
                                                      "into": world.districts[1], "effective": "not a date"},
                       headers=BROWSER).status_code == 422
    assert snapshot(engine, app) == before and _agency(engine, "000.07.01.H62") is None


def test_another_provinces_admin_cannot_take_or_merge_our_agencies(app, client, world, engine):
    csrf = log_in(client, world, "other_admin")
    commune = world.all_communes[0]
    assert commune not in client.get("/admin/agencies", headers=BROWSER).get_data(as_text=True)
    before = snapshot(engine, app)
    r = _import(client, csrf, HEADER + f"{commune},Xã Bị Chiếm,commune,{world.other_province}\n")
    assert r.status_code == 403
    assert client.post("/admin/agencies/merge", data={"csrf_token": csrf, "old": commune,
                                                      "into": world.all_communes[1], "effective": "2027-01-01"},
                       headers=BROWSER).status_code == 404
    assert snapshot(engine, app) == before
