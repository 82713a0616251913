"""Numbering under concurrency, on SQLite and on PostgreSQL (``LIENTHONG_TEST_DATABASE_URL``):
4 processes race to register the same 80 signed documents of one agency; each document is
registered once (the others are told ``already_registered``), and the 80 numbers are
1…80, no gap, no duplicate."""
from __future__ import annotations

import multiprocessing
import random
import time
from pathlib import Path

from sqlmodel import select

from errors import Conflict, ErrorCode
from exchange.models import AuditEvent, Document, RegisterEntry
from exchange.services import registers
from tests.db import build_services, session_scope
from tests.exchange_fixtures import caller_for, store_document
from tests.integration.exchange.delivery_support import world

REGISTRARS = 4
DOCUMENTS = 80
CTX = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections


def _register_all(url: str, data_dir: str, clerk, document_ids: list[int], seed: int, ready, start, out) -> None:  # type: ignore[no-untyped-def]
    services = build_services(url, Path(data_dir))
    ready.put(seed)
    order = list(document_ids)
    random.Random(seed).shuffle(order)
    start.wait()
    got: dict[int, int] = {}
    refused = 0
    first_try = time.time()  # wall clock: comparable across the processes of one machine
    for document_id in order:
        try:
            got[document_id] = registers.register_outgoing(services, clerk, document_id)["register"]["number"]
        except Conflict as exc:
            assert exc.code == ErrorCode.ALREADY_REGISTERED, exc.code
            refused += 1
    last_try = time.time()
    services.close()
    out.put((got, refused, first_try, last_try))


def test_four_processes_registering_80_documents_get_80_gapless_numbers(engine, services, database_url,
                                                                           tmp_path):
    w = world(engine)
    with session_scope(engine, write=True) as session:
        ids = [store_document(session, services.blobs, w, state="signed", number="") for _ in range(DOCUMENTS)]
    clerk = caller_for(w, "clerk")
    ready, start, out = CTX.Queue(), CTX.Event(), CTX.Queue()
    # one data folder for all: the blob store the documents are in
    procs = [CTX.Process(target=_register_all,
                         args=(database_url, str(services.settings.data_dir), clerk, ids, n, ready, start, out))
             for n in range(REGISTRARS)]
    for p in procs:
        p.start()
    # all interpreters up before the race: a late starter would find nothing left to number
    for _ in procs:
        ready.get(timeout=120)
    began = time.monotonic()
    start.set()
    results = [out.get(timeout=400) for _ in procs]
    elapsed = time.monotonic() - began
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    numbers = [n for got, *_ in results for n in got.values()]
    assert sorted(numbers) == list(range(1, DOCUMENTS + 1)), "gapless, no duplicate"
    assert sum(refused for _, refused, *_ in results) == DOCUMENTS * (REGISTRARS - 1)
    # SQLite's write lock is not fair (a process that just committed may take it again), so one
    # racer can win every number on a loaded machine; the race is real when every process was
    # trying while the others were: their spans of attempts overlap
    assert max(first for *_, first, _ in results) < min(last for *_, last in results), \
        [(round(first, 3), round(last, 3)) for *_, first, last in results]
    with session_scope(engine) as session:
        entries = session.exec(select(RegisterEntry)).all()
        documents = {d.id: d for d in session.exec(select(Document)).all()}
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == "document.register")).all()
    assert sorted(e.number for e in entries) == list(range(1, DOCUMENTS + 1))
    assert len(audited) == DOCUMENTS
    for got, *_ in results:
        for document_id, number in got.items():
            assert documents[document_id].number == f"{number:02d}"
    print(f"\n{DOCUMENTS} registrations by {REGISTRARS} processes: {elapsed:.1f} s, "
          f"shares {[len(got) for got, *_ in results]} "
          f"({engine.dialect.name})")
