"""``flask pki issue | revoke | import-p12`` record each change in the audit trail, under the
owner's agency, with its outbox row — through the ``CredentialAudit`` port that certs
declares and exchange implements. The commands run in their own processes, as an operator
runs them; a refused command records nothing."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from certs.models import Credential
from exchange.models import AuditEvent, OutboxEvent
from tests.db import session_scope
from tests.exchange_fixtures import OTHER_PROVINCE, PROVINCE, World, auth, build_world
from tests.flask_cli import run_flask, run_flask_side_by_side
from tests.integration.certs.helpers import foreign_p12
from tests.signing_world import pki_template, seed_pki  # noqa: F401 (fixture)

P12_PASSWORD = "mật-khẩu-p12"


def _events(engine: Any, after: int = 0) -> list[tuple[AuditEvent, OutboxEvent]]:
    with session_scope(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)).all()
        rows = {r.audit_seq: r for r in s.exec(select(OutboxEvent).where(OutboxEvent.audit_seq > after)).all()}
    assert set(rows) == {e.seq for e in events}  # one outbox row for each event, no more
    return [(e, rows[e.seq]) for e in events]


def _last_seq(engine: Any) -> int:
    with session_scope(engine) as s:
        return max((e.seq or 0 for e in s.exec(select(AuditEvent)).all()), default=0)


def _credentials(engine: Any) -> list[Credential]:
    with session_scope(engine) as s:
        return list(s.exec(select(Credential).order_by(Credential.id)).all())


def _assert_recorded(found: list[tuple[AuditEvent, OutboxEvent]], action: str, object: str, agency_code: str,
                     agency_id: int, serial: str) -> None:
    matching = [(e, o) for e, o in found if e.action == action and e.object == object]
    assert len(matching) == 1, (action, object, [(e.action, e.object) for e, _ in found])
    event, outbox = matching[0]
    assert event.agency_code == agency_code
    assert json.loads(event.details)["serial"] == serial
    assert outbox.kind == action and json.loads(outbox.agency_ids) == [agency_id]


@pytest.mark.slow
def test_pki_commands_append_one_audited_event_each(client, engine, settings, pki_template, tmp_path):  # noqa: F811
    seed_pki(settings, pki_template)  # the processes find a PKI: no CA keys to make
    with session_scope(engine, write=True) as s:
        world: World = build_world(s)
    start = _last_seq(engine)
    p12 = foreign_p12(tmp_path / "that-ca.p12", P12_PASSWORD.encode(), full_name="Nguyễn Thị Lấp Lánh",
                      agency_name="UBND tỉnh Thử Nghiệm").path

    issued_person, issued_seal, imported, refused = run_flask_side_by_side(settings, [
        ("pki", "issue", "--user", "lanhdao.tinh"),
        ("pki", "issue", "--agency", OTHER_PROVINCE),
        ("pki", "import-p12", str(p12), "--user", "vanthu.tinh"),
        ("pki", "issue", "--user", "khong.co.ai"),  # no such user: refused
    ], env={"LIENTHONG_P12_PASSWORD": P12_PASSWORD})
    for done in (issued_person, issued_seal, imported):
        assert done.returncode == 0, (done.args, done.stderr)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr

    rows = {(c.owner_kind, c.owner_ref): c for c in _credentials(engine)}
    assert set(rows) == {("user", "lanhdao.tinh"), ("agency", OTHER_PROVINCE), ("user", "vanthu.tinh")}
    person, seal, held = rows[("user", "lanhdao.tinh")], rows[("agency", OTHER_PROVINCE)], rows[("user", "vanthu.tinh")]
    revoked = run_flask(settings, "pki", "revoke", person.serial, "--reason", "keyCompromise")
    assert revoked.returncode == 0, revoked.stderr

    found = _events(engine, after=start)
    assert len(found) == 4  # three issued or imported, one revoked; the refused command left nothing
    ids = world.agency_ids
    _assert_recorded(found, "credential.issue", "user:lanhdao.tinh", PROVINCE, ids[PROVINCE], person.serial)
    _assert_recorded(found, "credential.issue", f"agency:{OTHER_PROVINCE}", OTHER_PROVINCE, ids[OTHER_PROVINCE],
                     seal.serial)
    _assert_recorded(found, "credential.import", "user:vanthu.tinh", PROVINCE, ids[PROVINCE], held.serial)
    _assert_recorded(found, "credential.revoke", "user:lanhdao.tinh", PROVINCE, ids[PROVINCE], person.serial)

    # four processes appended side by side: the chain is still one, and it verifies
    check = client.get("/api/v1/audit/verify", headers=auth(world.token("auditor")))
    assert check.status_code == 200 and check.get_json() == {"ok": True, "checked": start + 4, "first_broken": None}
    # and the province's auditor reads its credential events in the trail; the other province's stay its own
    trail = client.get(f"/api/v1/audit?after={start}", headers=auth(world.token("auditor"))).get_json()["items"]
    assert sorted(e["action"] for e in trail) == ["credential.import", "credential.issue", "credential.revoke"]
