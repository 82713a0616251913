"""bench/scale.py's fill and measurements, at a tiny size on the test's PostgreSQL, so that
the national-scale benchmark cannot rot between its (long) runs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_DATABASE_URL
from tests.db import build_services

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="bench/scale.py fills PostgreSQL by COPY")

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import scale  # noqa: E402


def test_the_fill_is_consistent_and_every_measured_path_runs(database_url, tmp_path, capsys):
    sizes = scale.Sizes(agencies=3_400, documents=200, deliveries=2_000, audit_events=300)
    heard: list[str] = []
    scale.fill(database_url, sizes, log=heard.append)
    assert any(line.startswith("  delivery: 2,000 rows") for line in heard)
    svc = build_services(database_url, tmp_path)
    try:
        with svc.engine.connect() as conn:
            q = conn.exec_driver_sql
            assert q("SELECT count(*) FROM agency WHERE level = 'commune'").scalar() == scale.COMMUNES
            # seq gapless per recipient, and each inbox counter at its last seq
            assert q("SELECT count(*) FROM (SELECT recipient_agency_id FROM delivery GROUP BY 1 "
                     "HAVING max(seq) <> count(*) OR min(seq) <> 1) AS gaps").scalar() == 0
            assert q("SELECT count(*) FROM counter c JOIN (SELECT recipient_agency_id AS a, max(seq) AS m "
                     "FROM delivery GROUP BY 1) d ON d.a = c.agency_id WHERE c.name = 'inbox' AND c.value <> d.m"
                     ).scalar() == 0
            assert q("SELECT count(*) FROM register_entry WHERE kind = 'incoming'").scalar() == 200
        statements = scale.Statements(svc.engine)
        # the same database on both sides: the bench's alternation, warm-up and EXPLAIN capture run
        other = build_services(database_url, tmp_path / "other")
        try:
            _, paths, queries = scale.side_by_side(other, svc, sizes, sizes, samples=4, rounds_dispatch=1,
                                                   statements=statements)
        finally:
            other.close()
        with svc.engine.connect() as conn:  # the national dispatches (warm-up ones too) went through, 3,321 each
            added = conn.execute(sa.text("SELECT count(*) FROM delivery")).scalar_one() - 2_000
            assert added > 0 and added % scale.COMMUNES == 0
        scale.explain(svc.engine, queries, {"agency": 2, "after": 0, "limit": scale.PAGE})
        disk = scale.sizes_of(svc.engine)
    finally:
        svc.close()
    names = [p.name for p in paths]
    assert names[:3] == ["inbox page (50 items)", "empty poll (its query)", "events feed page (50)"]
    audit = next(n for n in names if n.startswith("audit verify ("))
    assert int(audit.split("(")[1].split()[0].replace(",", "")) > 300  # the 300 filled + the run's own events
    assert disk["deliveries"] == 2_000 + added and disk["database"] > disk["delivery"] > 0
    scale.report(sizes, sizes, paths, paths, disk)
    out = capsys.readouterr().out
    assert "--- EXPLAIN, inbox page, the one statement" in out and "Index Scan" in out
    assert out.strip().splitlines()[-1].startswith("ratio worst per-request p99 big/small: 1.00")
