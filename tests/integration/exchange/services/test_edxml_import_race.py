"""Processes racing to import the same edXML packages into one agency's inbox, on SQLite and
on PostgreSQL: each package becomes exactly one document and one delivery, every racer is
answered with that delivery, and the inbox seqs stay gapless."""
from __future__ import annotations

import multiprocessing
import random
from pathlib import Path

from sqlmodel import select

from exchange.models import Delivery, Dispatch, Document, EdxmlPackage
from exchange.services import edxml
from tests.db import build_services, session_scope
from tests.exchange_fixtures import caller_for, make_pdf
from tests.integration.exchange.delivery_support import world
from tests.integration.exchange.edxml_support import package

RACERS = 3
PACKAGES = 6
CTX = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections


def _import_all(url: str, data_dir: str, caller, packages: list[bytes], seed: int, start, out) -> None:  # type: ignore[no-untyped-def]
    services = build_services(url, Path(data_dir))
    order = list(enumerate(packages))
    random.Random(seed).shuffle(order)
    start.wait()
    got = {}
    for index, data in order:
        answer, _created = edxml.import_package(services, caller, data)
        got[index] = answer["delivery"]["id"]
    services.close()
    out.put(got)


def test_racing_imports_of_the_same_packages_deliver_each_once(engine, database_url, tmp_path):
    w = world(engine)
    commune = w.all_communes[0]
    packages = [package(w.other_province, [commune], pdf=make_pdf(f"gói {i}"), number=str(i)) for i in range(PACKAGES)]
    start, out = CTX.Event(), CTX.Queue()
    procs = [CTX.Process(target=_import_all, args=(database_url, str(tmp_path / "var"), caller_for(w, commune),
                                                   packages, n, start, out)) for n in range(RACERS)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for index in range(PACKAGES):  # every racer was answered with the one delivery of the package
        assert len({r[index] for r in results}) == 1
    with session_scope(engine) as session:
        copies = session.exec(select(Delivery)).all()
        assert len(copies) == PACKAGES and {d.id for d in copies} == set(results[0].values())
        assert sorted(d.seq for d in copies) == list(range(1, PACKAGES + 1))  # gapless
        assert len(session.exec(select(Document)).all()) == PACKAGES
        assert len(session.exec(select(Dispatch)).all()) == PACKAGES
        assert len(session.exec(select(EdxmlPackage)).all()) == PACKAGES
