"""The outbox (DESIGN.md §3): every audited change writes one ``OutboxEvent`` in the same
transaction — its own UUID, the audit action as its kind, the agencies the change concerns,
the event as JSON. Proved over a real flow (HTTP, the CLI in its own processes), and by
changes that are refused or fail after the audit record was flushed: those leave neither."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from errors import ErrorCode
from exchange.models import AuditEvent, Document, OutboxEvent
from exchange.services import audit
from tests.db import session_scope
from tests.exchange_fixtures import (
    PASSWORD,
    World,
    build_world,
    snapshot,
    upload_via_api,
)
from tests.flask_cli import run_flask

D1 = "000.00.01.H62"  # a district of the province
C1, F1 = "000.01.01.H62", "000.02.01.H62"  # communes of D1
C2 = "000.04.02.H62"  # a commune of the other district


@dataclass(frozen=True)
class Pair:
    event: AuditEvent
    outbox: OutboxEvent

    @property
    def agencies(self) -> set[int]:
        return set(json.loads(self.outbox.agency_ids))


def _pairs(engine: Any) -> list[Pair]:
    """Every audit event with its outbox row; fails unless they match one to one."""
    with session_scope(engine) as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        rows = s.exec(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
    assert len(rows) == len(events)
    by_seq = {row.audit_seq: row for row in rows}
    assert len(by_seq) == len(rows), "two outbox rows for one audit event"
    return [Pair(event, by_seq[event.seq]) for event in events]


def _assert_outbox_mirrors_the_audit_trail(engine: Any) -> list[Pair]:
    pairs = _pairs(engine)
    ids = [p.outbox.id for p in pairs]
    assert len(set(ids)) == len(ids)
    for pair in pairs:
        event, row = pair.event, pair.outbox
        assert uuid.UUID(row.id).version == 4 and str(uuid.UUID(row.id)) == row.id
        assert row.kind == event.action
        assert json.loads(row.payload) == {"object": event.object, "actor": event.actor,
                                           "agency_code": event.agency_code, "details": json.loads(event.details)}
        assert row.created_at == event.at
        assert all(isinstance(a, int) for a in pair.agencies)
    return pairs


def _one(pairs: list[Pair], kind: str, **details: Any) -> Pair:
    found = [p for p in pairs if p.event.action == kind
             and all(json.loads(p.event.details).get(k) == v for k, v in details.items())]
    assert len(found) == 1, (kind, details, [p.event.action for p in pairs])
    return found[0]


def _world(engine: Any) -> World:
    with session_scope(engine, write=True) as session:
        return build_world(session)


def _sealed_upload(client: Any, engine: Any, world: World) -> int:
    """A document uploaded over HTTP, then marked sealed behind the API's back (signing is
    not what this file is about)."""
    response = upload_via_api(client, world.headers("clerk"))
    assert response.status_code == 201, response.get_json()
    doc_id: int = response.get_json()["id"]
    with session_scope(engine, write=True) as s:
        s.execute(sa.update(Document).where(Document.id == doc_id).values(state="sealed"))  # type: ignore[arg-type]
    return doc_id


def _post(client: Any, url: str, who_headers: dict[str, str], body: dict[str, Any], status: int = 200,
          **headers: str) -> dict[str, Any]:
    response = client.post(url, headers={**who_headers, **headers}, json=body)
    assert response.status_code == status, (url, response.get_json())
    return response.get_json()  # type: ignore[no-any-return]


def _delivery_of(view: dict[str, Any], code: str) -> int:
    return next(d["id"] for d in view["deliveries"] if d["recipient"] == code)


@pytest.mark.slow
def test_a_whole_flow_writes_one_matching_outbox_row_per_audit_event(app, client, engine, settings):
    world = _world(engine)
    ids = world.agency_ids
    province = ids[world.province]

    # logging in and out, and a failed attempt
    for password, status in (("sai-rồi-nhé", 401), (PASSWORD, 200)):
        login = client.post("/api/v1/session", json={"username": "vanthu.tinh", "password": password})
        assert login.status_code == status
    assert client.delete("/api/v1/session").status_code == 204

    doc_id = _sealed_upload(client, engine, world)
    sent = _post(client, f"/api/v1/documents/{doc_id}/dispatches", world.headers("clerk"), {"to": [C1, C2, D1]},
                 201, **{"Idempotency-Key": "gui-1"})
    to_c1, to_d1 = _delivery_of(sent, C1), _delivery_of(sent, D1)
    _post(client, f"/api/v1/inbox/{to_c1}/ack", world.headers(C1), {})
    _post(client, f"/api/v1/inbox/{to_c1}/status", world.headers(C1), {"status": "accepted"})
    _post(client, f"/api/v1/inbox/{to_d1}/ack", world.headers(D1), {})
    forwarded = _post(client, f"/api/v1/inbox/{to_d1}/forward", world.headers(D1), {"to": [F1]}, 201,
                      **{"Idempotency-Key": "chuyen-1"})
    _post(client, f"/api/v1/documents/{doc_id}/recall", world.headers("clerk"), {"reason": "gửi nhầm"})
    _post(client, f"/api/v1/inbox/{to_c1}/recall-decision", world.headers(C1), {"accept": False})
    _post(client, f"/api/v1/inbox/{to_d1}/recall-decision", world.headers(D1), {"accept": True})

    # the operator's commands, each in its own process
    made = run_flask(settings, "users", "create", "vanthu.moi", "--agency", C1, "--roles", "clerk",
                     "--full-name", "Lý Thị Mới", env={"LIENTHONG_PASSWORD": "mật-khẩu-mới-đủ-dài"})
    assert made.returncode == 0, made.stderr
    token = run_flask(settings, "tokens", "create", "--user", "vanthu.moi", "--name", "may-tinh")
    assert token.returncode == 0, token.stderr
    token_id = token.stderr.split("token id ")[1].split()[0]
    revoked = run_flask(settings, "tokens", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr

    pairs = _assert_outbox_mirrors_the_audit_trail(engine)
    kinds = {p.event.action for p in pairs}
    assert {"session.login_failed", "session.login", "session.logout", "document.upload", "document.dispatch",
            "delivery.ack", "delivery.status", "delivery.forward", "document.recall", "delivery.recall_decision",
            "user.create", "token.create", "token.revoke"} <= kinds

    # who each change concerns: the acting agency, and every agency on the other end
    assert _one(pairs, "document.dispatch", dispatch_id=sent["id"]).agencies == {province, ids[C1], ids[C2], ids[D1]}
    acks = [p for p in pairs if p.event.action == "delivery.ack"]
    assert [p.agencies for p in acks] == [{ids[C1], province}, {ids[D1], province}]
    assert _one(pairs, "delivery.status", to="accepted").agencies == {ids[C1], province}
    assert _one(pairs, "delivery.forward", dispatch_id=forwarded["id"]).agencies == {ids[D1], province, ids[F1]}
    assert _one(pairs, "document.recall").agencies == {province, ids[C1], ids[C2], ids[D1]}
    assert _one(pairs, "delivery.recall_decision", accept=False).agencies == {ids[C1], province}
    # accepting takes back D1's forwarded copy too: F1's inbox changed, so the news is F1's as well
    accepted = _one(pairs, "delivery.recall_decision", accept=True)
    assert json.loads(accepted.event.details)["forwarded_recalled"], "the forward was not recalled with it"
    assert accepted.agencies == {ids[D1], province, ids[F1]}
    # the commands' changes are the new user's agency's news: the user, then its token made and revoked
    commands = [p for p in pairs if p.event.object in ("user:vanthu.moi", f"token:{token_id}")]
    assert [(p.event.action, p.agencies) for p in commands] == [
        ("user.create", {ids[C1]}), ("token.create", {ids[C1]}), ("token.revoke", {ids[C1]})]
    for kind in ("session.login", "session.logout", "session.login_failed", "document.upload"):
        assert {frozenset(p.agencies) for p in pairs if p.event.action == kind} == {frozenset({province})}, kind


def _counts(engine: Any) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(OutboxEvent)).scalar_one())


def test_refused_changes_leave_neither_an_event_nor_an_outbox_row(app, client, engine):
    world = _world(engine)
    doc_id = _sealed_upload(client, engine, world)
    sent = _post(client, f"/api/v1/documents/{doc_id}/dispatches", world.headers("clerk"), {"to": [C1]}, 201,
                 **{"Idempotency-Key": "gui-1"})
    delivery = sent["deliveries"][0]["id"]
    counts, before = _counts(engine), snapshot(engine, app)
    refusals = [  # url, headers, body, status, code
        (f"/api/v1/inbox/{delivery}/status", world.headers(C1), {"status": "completed"}, 409,
         ErrorCode.INVALID_TRANSITION),
        (f"/api/v1/inbox/{delivery}/recall-decision", world.headers(C1), {"accept": True}, 409,
         ErrorCode.INVALID_TRANSITION),
        (f"/api/v1/inbox/{delivery}/ack", world.headers(C2), {}, 404, ErrorCode.NOT_FOUND),
        (f"/api/v1/documents/{doc_id}/dispatches", {**world.headers("clerk"), "Idempotency-Key": "gui-1"},
         {"to": [C1, C2]}, 409, ErrorCode.IDEMPOTENCY_CONFLICT),
        (f"/api/v1/documents/{doc_id}/dispatches", {**world.headers("clerk"), "Idempotency-Key": "gui-2"},
         {"to": ["999.99.99.H99"]}, 422, ErrorCode.INVALID),
    ]
    for url, headers, body, status, code in refusals:
        response = client.post(url, headers=headers, json=body)
        assert response.status_code == status and response.get_json()["error"]["code"] == code, response.get_json()
    assert _counts(engine) == counts
    assert snapshot(engine, app) == before


def _fail_after_the_audit_record(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make ``audit.record`` raise once its event and outbox row are flushed, as a failure
    late in a use case would (a bug, a dropped connection): returns the seqs it flushed."""
    flushed: list[int] = []
    real = audit.record

    def record_then_fail(session: Session, *args: Any, **kwargs: Any) -> AuditEvent:
        event = real(session, *args, **kwargs)
        row = session.exec(select(OutboxEvent).where(OutboxEvent.audit_seq == event.seq)).one()
        assert row.kind == event.action  # in the transaction, visible to it
        flushed.append(event.seq)  # type: ignore[arg-type]
        raise RuntimeError("failure after the audit record")

    monkeypatch.setattr(audit, "record", record_then_fail)
    return flushed


@pytest.mark.parametrize("step", ["dispatch", "ack"])
def test_a_failure_after_the_audit_record_rolls_both_back(app, client, engine, monkeypatch, step):
    world = _world(engine)
    doc_id = _sealed_upload(client, engine, world)
    if step == "ack":
        sent = _post(client, f"/api/v1/documents/{doc_id}/dispatches", world.headers("clerk"), {"to": [C1]}, 201,
                     **{"Idempotency-Key": "gui-1"})
        url, headers, body = f"/api/v1/inbox/{sent['deliveries'][0]['id']}/ack", world.headers(C1), {}
    else:
        url, headers, body = (f"/api/v1/documents/{doc_id}/dispatches",
                              {**world.headers("clerk"), "Idempotency-Key": "gui-1"}, {"to": [C1, C2]})
    counts, before = _counts(engine), snapshot(engine, app)
    flushed = _fail_after_the_audit_record(monkeypatch)
    response = client.post(url, headers=headers, json=body)
    assert response.status_code == 500 and response.get_json()["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert flushed, "the failure did not happen after the record"
    assert _counts(engine) == counts
    assert snapshot(engine, app) == before
    monkeypatch.undo()
    # the same request, without the failure, goes through and is told once
    assert client.post(url, headers=headers, json=body).status_code in (200, 201)
    _assert_outbox_mirrors_the_audit_trail(engine)
    assert _counts(engine) == (counts[0] + 1, counts[1] + 1)
