"""Races between processes, on SQLite and on PostgreSQL (``LIENTHONG_TEST_DATABASE_URL``).

- 4 processes ack, then accept, the same 200 deliveries: one receipt each, one accept each
  (the others are refused), and one số đến each, gapless per agency.
- Dispatches commit concurrently from several processes while a poller walks the inbox with
  its cursor: it sees every seq exactly once, in order (no late commit is skipped).
"""
from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter as Tally
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from errors import Conflict
from exchange.services import delivery as deliveries
from exchange.services import inbox
from exchange.services.dispatch import Recipients, dispatch_document
from exchange.models import AuditEvent, Delivery, StatusEvent
from tests.db import build_services, session_scope
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import sealed_document, world

ACKERS = 4
DELIVERIES = 200
CTX = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections


def _ack_all(url: str, data_dir: str, callers: dict, delivery_ids: list[int], seed: int, start, out) -> None:  # type: ignore[no-untyped-def]
    services = build_services(url, Path(data_dir))  # one receipt key: the shared data folder's
    order = list(delivery_ids)
    random.Random(seed).shuffle(order)
    start.wait()
    got = {}
    for delivery_id, code in order:
        result = deliveries.acknowledge(services, callers[code], delivery_id)
        try:
            number = deliveries.change_status(services, callers[code], delivery_id, "accepted")["incoming_number"]
        except Conflict:
            number = None  # another process accepted it first
        got[delivery_id] = (number, result["receipt"]["signature"])
    services.close()
    out.put(got)


def test_four_processes_racing_to_ack_and_accept_200_deliveries(engine, services, database_url, tmp_path):
    w = world(engine)
    a, b = w.all_communes[:2]
    clerk = caller_for(w, "clerk")
    for i in range(DELIVERIES // 2):  # one document each: an agency holding a copy is not sent it again
        dispatch_document(services, clerk, sealed_document(engine, w), Recipients(to=(a, b)), f"k{i}")
    with session_scope(engine) as session:
        rows = session.exec(select(Delivery.id, Delivery.recipient_agency_id)).all()
    code_of = {w.agency_ids[a]: a, w.agency_ids[b]: b}
    ids = [(did, code_of[agency]) for did, agency in rows]
    assert len(ids) == DELIVERIES
    callers = {a: caller_for(w, a), b: caller_for(w, b)}
    start, out = CTX.Event(), CTX.Queue()
    procs = [CTX.Process(target=_ack_all, args=(database_url, str(tmp_path / "keys"), callers, ids, n, start, out))
             for n in range(ACKERS)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for did, _ in ids:  # every process was handed the same receipt; one of them accepted
        assert len({r[did][1] for r in results}) == 1
        assert sum(r[did][0] is not None for r in results) == 1
    with session_scope(engine) as session:
        final = session.exec(select(Delivery)).all()
        delivered = Tally(e.delivery_id for e in session.exec(
            select(StatusEvent).where(StatusEvent.status == "delivered")))
        acks = session.exec(select(sa.func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action == "delivery.ack")).one()
    assert all(d.status == "accepted" and d.receipt for d in final)
    assert set(delivered.values()) == {1} and len(delivered) == DELIVERIES and acks == DELIVERIES
    for agency in (w.agency_ids[a], w.agency_ids[b]):
        numbers = sorted(d.incoming_number for d in final if d.recipient_agency_id == agency)
        assert numbers == list(range(1, DELIVERIES // 2 + 1))  # gapless, no duplicate
    for did, _ in ids:
        given = next(r[did][0] for r in results if r[did][0] is not None)
        assert given == next(d.incoming_number for d in final if d.id == did)


def _dispatch_many(url: str, data_dir: str, clerk, docs: list[int], commune: str, prefix: str, start) -> None:  # type: ignore[no-untyped-def]
    services = build_services(url, Path(data_dir))
    start.wait()
    for i, doc in enumerate(docs):
        dispatch_document(services, clerk, doc, Recipients(to=(commune,)), f"{prefix}-{i}")
    services.close()


def test_a_poller_sees_every_seq_exactly_once_while_dispatches_commit_concurrently(engine, services, database_url,
                                                                                   tmp_path):
    w = world(engine)
    commune = w.all_communes[0]
    writers, per_writer = 4, 25
    docs = [[sealed_document(engine, w) for _ in range(per_writer)] for _ in range(writers)]
    start = CTX.Event()
    procs = [CTX.Process(target=_dispatch_many,
                         args=(database_url, str(tmp_path / f"w{n}"), caller_for(w, "clerk"), docs[n], commune,
                               f"w{n}", start))
             for n in range(writers)]
    for p in procs:
        p.start()
    start.set()
    me = caller_for(w, commune)
    seen: list[int] = []
    cursor = ""
    deadline = time.monotonic() + 120
    while len(seen) < writers * per_writer and time.monotonic() < deadline:
        page = inbox.poll(services, me, after=cursor, limit=7, wait=1)
        seen += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    seen += [item["seq"] for item in inbox.poll(services, me, after=cursor, limit=200)["items"]]
    assert seen == list(range(1, writers * per_writer + 1))
