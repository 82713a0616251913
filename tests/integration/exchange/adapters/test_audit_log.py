"""The audit chain: appends link by hash; altering, deleting or reordering a row is caught."""
from __future__ import annotations

import sqlalchemy as sa

from exchange.adapters import audit_log as audit
from exchange.models import AuditEvent
from tests.db import session_scope
from tests.exchange_fixtures import auth, build_world


def _append(engine, n: int) -> None:
    for i in range(n):
        with session_scope(engine, write=True) as s:
            audit.record(s, actor=f"u{i}", agency_code="000.00.00.H62", action="test.event",
                         object=f"thing:{i}", details={"i": i, "tên": "Lấp Lánh"})


def _check(engine) -> audit.ChainCheck:
    with session_scope(engine) as s:
        return audit.verify_chain(s)


def test_an_untouched_chain_verifies(engine):
    _append(engine, 5)
    assert _check(engine) == audit.ChainCheck(True, 5, None)


def test_events_link_to_the_previous_hash(engine):
    _append(engine, 3)
    with session_scope(engine) as s:
        rows = s.exec(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash


def test_an_altered_row_is_the_first_broken_link(engine):
    _append(engine, 6)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 4"))
    assert _check(engine) == audit.ChainCheck(False, 3, 4)


def test_altered_details_are_caught(engine):
    _append(engine, 3)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET details = :d WHERE seq = 2"), {"d": '{"i":99}'})
    assert _check(engine).first_broken == 2


def test_a_deleted_row_breaks_the_chain_where_it_was(engine):
    _append(engine, 6)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE seq = 3"))
    assert _check(engine) == audit.ChainCheck(False, 2, 3)


def test_a_deleted_tail_is_caught_against_the_head(engine):
    _append(engine, 4)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE seq = 4"))
    assert _check(engine) == audit.ChainCheck(False, 3, 4)


def test_reordered_rows_are_caught(engine):
    _append(engine, 5)
    with engine.begin() as conn:  # swap the content of events 2 and 3, keeping their seq
        rows = {r.seq: r for r in conn.execute(sa.text("SELECT * FROM audit_event WHERE seq IN (2, 3)"))}
        for seq, other in ((2, 3), (3, 2)):
            o = rows[other]
            conn.execute(sa.text("UPDATE audit_event SET at=:at, actor=:actor, action=:action, object=:object, "
                                 "details=:details, prev_hash=:prev, hash=:hash WHERE seq=:seq"),
                         {"at": o.at, "actor": o.actor, "action": o.action, "object": o.object,
                          "details": o.details, "prev": o.prev_hash, "hash": o.hash, "seq": seq})
    assert _check(engine).first_broken == 2


def test_a_rolled_back_change_leaves_no_event(engine):
    try:
        with session_scope(engine, write=True) as s:
            audit.record(s, actor="x", agency_code="", action="test", object="o")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert _check(engine) == audit.ChainCheck(True, 0, None)


def test_http_verify_and_list(client, engine):
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    r = client.get("/api/v1/audit/verify", headers=auth(world.token("auditor")))
    assert r.status_code == 200 and r.json["ok"] is True and r.json["first_broken"] is None
    r = client.get("/api/v1/audit?limit=3", headers=auth(world.token("admin")))
    assert r.status_code == 200 and len(r.json["items"]) == 3 and r.json["next_cursor"] == r.json["items"][-1]["seq"]
    r2 = client.get(f"/api/v1/audit?after={r.json['next_cursor']}&limit=1000", headers=auth(world.token("auditor")))
    codes = {e["agency_code"] for e in r.json["items"] + r2.json["items"]}
    assert world.other_province not in codes  # another province's trail stays its own
    assert client.get("/api/v1/audit", headers=auth(world.token("clerk"))).status_code == 403
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET object = 'x' WHERE seq = 2"))
    assert client.get("/api/v1/audit/verify", headers=auth(world.token("auditor"))).json == {
        "ok": False, "checked": 1, "first_broken": 2}


def test_cli_verify_exit_codes(app, engine):
    _append(engine, 3)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE seq = 2"))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and "2" in broken.output


def test_concurrent_appends_keep_one_linear_chain(engine):
    """Writers in many threads (own connections): every event gets its own seq and the
    chain still verifies. On PostgreSQL this exercises the head row's FOR UPDATE lock."""
    import threading

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with session_scope(engine, write=True) as s:
                    audit.record(s, actor=f"w{n}", agency_code="", action="test.race", object=f"{n}:{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _check(engine) == audit.ChainCheck(True, 40, None)

