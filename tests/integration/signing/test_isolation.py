"""Killable verification workers (``signing.isolation``): past the deadline the work stops
with its process, a fresh worker takes over, and a worker over its memory limit fails
alone."""
from __future__ import annotations

import io
import os
import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Iterator

import psutil
import pytest

from signing.isolation import IsolatedVerifier
from tests import hostile_pdfs
from tests import verify_fixtures as vf


@pytest.fixture
def verifier() -> Iterator[IsolatedVerifier]:
    v = IsolatedVerifier(workers=1, memory_mb=1024)
    v.warm_up()
    yield v
    v.close()


def _sleep_in_c(seconds: float) -> None:
    time.sleep(seconds)  # no bytecode runs meanwhile: a thread-based deadline cannot stop this


def _allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def test_work_stuck_in_c_is_killed_within_a_second_and_the_worker_replaced(verifier):
    (first,) = verifier.worker_pids()
    started = time.monotonic()
    with pytest.raises(FutureTimeout):
        verifier.run(_sleep_in_c, (60,), timeout_s=0.3)
    assert time.monotonic() - started < 1.3
    deadline = time.monotonic() + 1
    while psutil.pid_exists(first) and psutil.Process(first).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the stuck worker still runs"
        time.sleep(0.05)
    assert verifier.run(os.getpid, (), timeout_s=30) != first  # a fresh worker answers


def test_a_worker_over_its_memory_limit_fails_alone(verifier):
    with pytest.raises(MemoryError):
        verifier.run(_allocate, (2048,), timeout_s=30)
    assert verifier.run(_allocate, (10,), timeout_s=30) == 10 * 1024 * 1024


def test_reports_come_back_from_the_worker_and_timeouts_are_reports(verifier):
    p = vf.pki()
    signed = vf.sign(vf.make_pdf(), level="B-LT")
    report = verifier.verify(signed, trust_roots=[p.root])
    assert report.indication == "PASSED", report.to_json()
    assert report.signatures[0].signer.name
    timed_out = verifier.verify(signed, trust_roots=[p.root], time_budget_s=0.001)
    assert timed_out.indication == "FAILED" and [f.code for f in timed_out.findings] == ["TIMEOUT"]
    bomb = verifier.verify(hostile_pdfs.xref_stream_bomb(), trust_roots=[p.root])
    assert [f.code for f in bomb.findings] == ["STRUCTURE_REFUSED"] and bomb.indication == "FAILED"


def test_a_report_travels_without_the_file_it_was_read_from():
    """Field names were pyHanko string objects holding their reader: a report of a person +
    seal document pickled to 320 kB, 13 ms to unpickle in the web worker."""
    import pickle

    from signing.verify import verify

    p = vf.pki()
    sealed = vf.sign(vf.sign(vf.make_pdf(), level="B-LT"), level="B-LT", field="Seal", who="second")
    report = verify(sealed, trust_roots=[p.root])
    assert [(s.field, type(s.field)) for s in report.signatures] == [("Sig1", str), ("Seal", str)]
    assert all(f.field is None or type(f.field) is str for f in report.findings)
    assert len(pickle.dumps(report)) < 20_000


def test_close_stops_the_workers():
    v = IsolatedVerifier(workers=2)
    v.warm_up()
    pids = v.worker_pids()
    assert len(pids) == 2
    v.close()
    deadline = time.monotonic() + 5
    while any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids):
        assert time.monotonic() < deadline, "workers outlived close()"
        time.sleep(0.05)


def test_a_broken_pool_is_replaced_at_the_next_call(verifier):
    old = verifier._ensure_pool()
    old.stop()  # what a dead forkserver or a pool that cannot start workers looks like to us
    old.join()
    with pytest.raises(RuntimeError):
        verifier.run(os.getpid, (), timeout_s=10)
    assert verifier.run(os.getpid, (), timeout_s=30) > 0
    assert verifier._ensure_pool() is not old


def test_the_parse_probe_refuses_a_file_that_reads_too_slowly(verifier):
    from signing.prescan import StructureRefused

    slow = io.BytesIO(hostile_pdfs.slow_xref_stream())  # passes the pre-scan, ~2 s to parse
    started = time.monotonic()
    with pytest.raises(StructureRefused) as err:
        verifier.probe_parse(slow, time_budget_s=0.3)
    assert err.value.kind == "parse_budget" and time.monotonic() - started < 1.5
    assert slow.tell() == 0
    verifier.probe_parse(io.BytesIO(vf.make_pdf()), time_budget_s=10)  # an honest file reads in time
    with pytest.raises(StructureRefused):
        verifier.probe_parse(io.BytesIO(hostile_pdfs.xref_stream_bomb()), time_budget_s=10)  # pre-scan first


@pytest.mark.parametrize("runs_for, code", [(0.3, "TIMEOUT"), (0.0, "RESOURCE_LIMIT")])
def test_a_worker_found_gone_past_the_budget_is_a_timeout_before_it_an_abnormal_end(monkeypatch, runs_for, code):
    from pebble import ProcessExpired

    verifier = IsolatedVerifier(workers=1)

    def gone(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        time.sleep(runs_for)
        raise ProcessExpired("Abnormal termination", code=-15, pid=1)

    monkeypatch.setattr(verifier, "run", gone)
    report = verifier.verify(vf.sign(vf.make_pdf()), trust_roots=[], time_budget_s=0.2)
    assert [f.code for f in report.findings] == [code] and report.indication == "FAILED"
