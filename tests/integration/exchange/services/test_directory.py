"""The agency directory: trees of any depth, successors, CSV import, the HTTP listing."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from errors import Conflict, NotFound
from exchange.services import directory as agencies
from exchange.services.directory_import import import_csv
from exchange.models import Agency, AuditEvent
from tests.db import session_scope
from tests.exchange_fixtures import auth, build_world
from translations import translate


def _add(s, code, level="other", parent=None, **kw):
    a = Agency(code=code, name=f"CQ {code}", level=level, parent_id=parent.id if parent else None, **kw)
    s.add(a)
    s.flush()
    return a


def test_descendants_at_any_depth(engine):
    with session_scope(engine, write=True) as s:
        chain = [_add(s, "100.00.00.H01", "province")]
        for depth in range(1, 7):  # seven levels: nothing assumes three
            chain.append(_add(s, f"100.00.{depth:02d}.H01", "department" if depth < 6 else "commune", chain[-1]))
        _add(s, "100.00.99.H01", "commune", chain[0])
        below = agencies.descendants(s, "100.00.00.H01")
        assert [a.code for a in below] == sorted([c.code for c in chain[1:]] + ["100.00.99.H01"])
        assert [a.code for a in agencies.descendants(s, "100.00.00.H01", "commune")] == ["100.00.06.H01", "100.00.99.H01"]
        assert [a.code for a in agencies.descendants(s, "100.00.05.H01")] == ["100.00.06.H01"]
        assert agencies.descendants(s, "100.00.06.H01") == []
        with pytest.raises(NotFound):
            agencies.descendants(s, "999.00.00.H01")


def test_two_level_tree_after_the_reform(engine):
    with session_scope(engine, write=True) as s:
        p = _add(s, "200.00.00.H02", "province")
        for i in range(3):
            _add(s, f"200.{i + 1:02d}.00.H02", "commune", p)
        assert len(agencies.descendants(s, p.code, "commune")) == 3
        assert agencies.descendants(s, p.code, "district") == []


def test_route_follows_successors_and_stops_on_loops(engine):
    with session_scope(engine, write=True) as s:
        c = _add(s, "300.00.03.H03", "commune")
        b = _add(s, "300.00.02.H03", "commune", successor_id=c.id, valid_to=date(2025, 6, 30))
        a = _add(s, "300.00.01.H03", "commune", successor_id=b.id, valid_to=date(2025, 6, 30))
        assert agencies.route(s, a, date(2025, 7, 1)).code == c.code
        assert agencies.route(s, a, date(2025, 6, 1)).code == a.code  # not merged yet on that day
        assert agencies.route(s, c).code == c.code
        c.successor_id, c.valid_to = a.id, date(2025, 6, 30)
        s.flush()
        with pytest.raises(Conflict):
            agencies.route(s, a, date(2025, 7, 1))


def test_get_by_code(engine):
    with session_scope(engine, write=True) as s:
        _add(s, "400.00.00.H04", "province")
        assert agencies.get_by_code(s, "400.00.00.H04").level == "province"
        with pytest.raises(NotFound):
            agencies.get_by_code(s, "400.00.00.H05")


GOOD_CSV = """code,name,level,parent_code
500.01.01.H05,Xã Một,commune,500.00.01.H05
500.00.01.H05,Huyện Một,district,500.00.00.H05
500.00.00.H05,Tỉnh Năm,province,
"""


def test_import_with_parents_later_in_the_file(engine):
    with session_scope(engine, write=True) as s:
        result = import_csv(s, io.StringIO(GOOD_CSV))
        assert result.ok and (result.created, result.updated) == (3, 0)
    with session_scope(engine, write=True) as s:
        assert [a.code for a in agencies.descendants(s, "500.00.00.H05")] == ["500.00.01.H05", "500.01.01.H05"]
        again = import_csv(s, io.BytesIO(("\ufeff" + GOOD_CSV.replace("Xã Một", "Xã Một Mới")).encode()))
        assert again.ok and (again.created, again.updated) == (0, 3)
        assert agencies.get_by_code(s, "500.01.01.H05").name == "Xã Một Mới"


def test_a_bad_row_imports_nothing_and_names_every_line(engine):
    bad = """code,name,level,parent_code
600.00.00.H06,Tỉnh Sáu,province,
600.00.01.h06,Huyện,district,600.00.00.H06
600.00.02.H06,,district,600.00.00.H06
600.00.03.H06,Huyện Ba,county,600.00.00.H06
600.00.04.H06,Huyện Bốn,district,999.00.00.H99
600.00.00.H06,Trùng,province,
"""
    with session_scope(engine, write=True) as s:
        result = import_csv(s, io.StringIO(bad))
    assert not result.ok
    assert sorted({line for line, _ in result.errors}) == [3, 4, 5, 6, 7]
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Agency)).scalar() == 0
        assert s.exec(sa.select(sa.func.count()).select_from(AuditEvent)).scalar() == 0


def test_missing_columns_and_parent_loops(engine):
    with session_scope(engine, write=True) as s:
        assert import_csv(s, io.StringIO("code,name\n700.00.00.H07,X\n")).errors[0][0] == 1
        loop = "code,name,level,parent_code\n700.00.01.H07,A,other,700.00.02.H07\n700.00.02.H07,B,other,700.00.01.H07\n"
        assert not import_csv(s, io.StringIO(loop)).ok


def test_cli_import(app, tmp_path, engine):
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    runner = app.test_cli_runner()
    out = runner.invoke(args=["agencies", "import", str(good)])
    assert out.exit_code == 0, out.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent_code\n800.00.00.H08,X,planet,\n", encoding="utf-8")
    out = runner.invoke(args=["agencies", "import", str(bad)])
    assert out.exit_code == 1 and f"{bad}:2:" in out.output


def test_http_listing(client, engine):
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    r = client.get(f"/api/v1/agencies?parent={world.province}", headers=auth(world.agency_tokens[world.all_communes[0]]))
    assert r.status_code == 200
    assert [a["code"] for a in r.json["items"]] == world.districts
    assert all(a["parent_code"] == world.province for a in r.json["items"])
    page = client.get("/api/v1/agencies?limit=3", headers=world.headers("clerk")).json
    assert len(page["items"]) == 3 and page["next_cursor"] == page["items"][-1]["code"]
    rest = client.get(f"/api/v1/agencies?after={page['next_cursor']}&limit=1000", headers=world.headers("clerk")).json
    assert len(page["items"]) + len(rest["items"]) == len(world.agency_ids) and rest["next_cursor"] is None
    assert client.get("/api/v1/agencies?parent=999.99.99.H99", headers=world.headers("clerk")).status_code == 404
    assert client.get("/api/v1/agencies").status_code == 401


def test_import_dates_and_successors(engine):
    csv_text = """code,name,level,parent_code,valid_from,valid_to,successor_code
900.00.01.H09,Xã Cũ,commune,900.00.00.H09,2020-01-01,2025-06-30,900.00.02.H09
900.00.02.H09,Xã Mới,commune,900.00.00.H09,2025-07-01,,
900.00.00.H09,Tỉnh Chín,province,,,,
"""
    with session_scope(engine, write=True) as s:
        assert import_csv(s, io.StringIO(csv_text)).ok
    with session_scope(engine) as s:
        old = agencies.get_by_code(s, "900.00.01.H09")
        assert old.valid_to == date(2025, 6, 30)
        assert agencies.route(s, old, date(2025, 7, 1)).code == "900.00.02.H09"


def test_import_refuses_bad_dates_unknown_successors_and_loops(engine):
    bad = """code,name,level,parent_code,valid_from,valid_to,successor_code
910.00.01.H09,A,commune,,2025-13-01,,
910.00.02.H09,B,commune,,2025-07-01,2025-01-01,
910.00.03.H09,C,commune,,,,999.99.99.H99
910.00.04.H09,D,commune,,,2025-01-01,910.00.05.H09
910.00.05.H09,E,commune,,,2025-01-01,910.00.04.H09
"""
    with session_scope(engine, write=True) as s:
        result = import_csv(s, io.StringIO(bad))
        assert not result.ok
        assert {line for line, _ in result.errors} >= {2, 3, 4}
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Agency)).scalar() == 0
    loop_only = "\n".join(bad.splitlines()[:1] + bad.splitlines()[4:]) + "\n"
    with session_scope(engine, write=True) as s:
        result = import_csv(s, io.StringIO(loop_only))
        assert not result.ok
        assert {translate(message, "vi") for _, message in result.errors} == {"vòng kế thừa"}
        assert {translate(message, "en") for _, message in result.errors} == {"successor loop"}
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Agency)).scalar() == 0


def test_merge_command_routes_mail_to_the_successor(app, engine):
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    old, new = world.communes[world.districts[0]][0], world.communes[world.districts[0]][1]
    runner = app.test_cli_runner()
    out = runner.invoke(args=["agencies", "merge", old, "--into", new, "--on", "2025-07-01"])
    assert out.exit_code == 0, out.output
    with session_scope(engine) as s:
        agency = agencies.get_by_code(s, old)
        assert agency.valid_to == date(2025, 6, 30)
        assert agencies.route(s, agency, date(2025, 7, 1)).code == new
        assert agencies.route(s, agency, date(2025, 6, 30)).code == old
    assert runner.invoke(args=["agencies", "merge", new, "--into", old, "--on", "2025-07-01"]).exit_code == 1  # a loop
    assert runner.invoke(args=["agencies", "merge", old, "--into", old]).exit_code == 1
    assert runner.invoke(args=["agencies", "merge", old, "--into", "999.99.99.H99"]).exit_code == 1
    with session_scope(engine) as s:  # the refused loop left the successor untouched
        assert agencies.get_by_code(s, new).successor_id is None
