"""``flask demo seed``: Vĩnh Long after the 2025 reform (two tiers, predecessors kept), its
printed credentials and what to open next, --if-missing."""
from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select

from exchange.domain.codes import code_problem
from exchange.models import Agency, Document, Revision
from exchange.services import demo
from exchange.services import directory as agencies
from tests.db import session_scope
from tests.exchange_fixtures import auth


def test_seed_builds_the_two_tier_world_with_its_predecessors(app, engine):
    out = app.test_cli_runner().invoke(args=["demo", "seed", "--no-credentials"])
    assert out.exit_code == 0, out.output
    with session_scope(engine) as s:
        province = agencies.get_by_code(s, demo.PROVINCE_CODE)
        below = agencies.descendants(s, demo.PROVINCE_CODE)
        assert len(below) == len(demo.UNITS) == 36 and {a.level for a in below} == {"commune"}  # no district
        assert all(a.parent_id == province.id and code_problem(a.code) is None for a in below)
        assert sum(a.name.startswith("UBND phường") for a in below) == len(demo.WARDS)
        assert province.valid_from == date(2025, 7, 1) and province.valid_to is None
        old = s.exec(select(Agency).where(col(Agency.valid_to).is_not(None))).all()
        assert len(old) == sum(1 + len(d) + sum(len(c) for _, c in d) for _, _, d in demo.OLD_PROVINCES)
        assert all(a.valid_to == date(2025, 6, 30) and a.successor_id is not None for a in old)
        by_code = {a.code: a for a in old}
        for group, name in (("H61", "UBND tỉnh Vĩnh Long"), ("H08", "UBND tỉnh Bến Tre"), ("H58", "UBND tỉnh Trà Vinh")):
            former = by_code[demo.old_province_code(group)]
            assert former.name == name and former.successor_id == province.id
        old_town = by_code[demo.old_commune_code("H61", 2, 0)]  # Thị trấn Long Hồ → xã Long Hồ
        assert old_town.name == "UBND Thị trấn Long Hồ"
        assert agencies.route(s, old_town).name == "UBND xã Long Hồ"
        assert agencies.route(s, by_code[demo.old_district_code("H08", 0)]).id == province.id


def test_seed_prints_each_account_and_what_to_open_and_mail_to_an_old_code_is_redirected(app, client, engine):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["demo", "seed", "--no-credentials"])
    assert out.exit_code == 0, out.output
    lines = {m.group(1): m for m in re.finditer(r"^  (\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(UBND .+)$", out.stdout, re.M)}
    assert set(lines) == {username for username, *_ in demo.PEOPLE}
    clerk = lines["vanthu.vinhlong"]
    assert clerk.group(2, 3, 5) == ("clerk", demo.PROVINCE_CODE, "UBND tỉnh Vĩnh Long")
    assert lines["chutich.longho"].group(2, 5) == ("signer", "UBND xã Long Hồ")
    assert "http://127.0.0.1:5000/ " in out.stdout and "http://127.0.0.1:5000/api/v1/docs" in out.stdout
    login = client.post("/api/v1/session", json={"username": "vanthu.vinhlong", "password": clerk.group(4)})
    assert login.status_code == 200 and login.json["agency_code"] == demo.PROVINCE_CODE

    # the province's system sends to a former code: it reaches the successor, the redirect shows
    token = re.search(rf"^  {re.escape(demo.PROVINCE_CODE)}\s+(lt_\S+)", out.stdout, re.M).group(1)
    commune_token = re.search(rf"^  {re.escape(demo.UNIT_CODES['xã Long Hồ'])}\s+(lt_\S+)", out.stdout, re.M).group(1)
    old_code = demo.old_commune_code("H61", 2, 0)
    assert old_code in out.stdout
    with session_scope(engine, write=True) as s:
        doc = Document(issuer_agency_id=agencies.get_by_code(s, demo.PROVINCE_CODE).id, doc_type="Công văn",
                       subject="V/v thử chuyển địa chỉ cũ", state="sealed")
        s.add(doc)
        s.flush()
        s.add(Revision(document_id=doc.id, seq=1, blob_sha256="0" * 64, size=1, kind="signed", profile="seal"))
        doc_id = doc.id
    sent = client.post(f"/api/v1/documents/{doc_id}/dispatches", json={"to": [old_code]},
                       headers={**auth(token), "Idempotency-Key": "demo-1"})
    assert sent.status_code == 201, sent.json
    assert sent.json["deliveries"][0]["recipient"] == demo.UNIT_CODES["xã Long Hồ"]
    assert sent.json["deliveries"][0]["addressed_to"] == old_code
    item = client.get("/api/v1/inbox", headers=auth(commune_token)).json["items"][0]
    assert item["addressed_to"] == old_code and item["document"]["id"] == doc_id

    again = runner.invoke(args=["demo", "seed", "--if-missing"])
    assert again.exit_code == 0 and "lt_" not in again.stdout and clerk.group(4) not in again.stdout
    assert "vanthu.vinhlong" in again.stdout and "UBND tỉnh Vĩnh Long" in again.stdout
    assert "http://127.0.0.1:5000/api/v1/docs" in again.stdout
    assert runner.invoke(args=["demo", "seed"]).exit_code == 1
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_seed_with_credentials_issues_the_signers_and_seals(app, engine):
    out = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert out.exit_code == 0, out.output
    assert "person chutich.vinhlong" in out.stdout and f"seal {demo.PROVINCE_CODE}" in out.stdout
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Agency)).scalar() > len(demo.UNITS)


def test_a_database_seeded_before_the_reform_counts_as_seeded(app, engine):
    with session_scope(engine, write=True) as s:
        s.add(Agency(code=demo.OLD_VINH_LONG_CODE, name="UBND tỉnh Vĩnh Long", level="province"))
    again = app.test_cli_runner().invoke(args=["demo", "seed", "--if-missing"])
    assert again.exit_code == 0, again.output
    with session_scope(engine) as s:
        assert not agencies.find_by_codes(s, [demo.PROVINCE_CODE])
