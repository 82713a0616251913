"""The soak of ``bench/soak.py``, short: two gunicorn processes on the test's database and one
moto S3 server, 10 senders (2 agencies, so clerks number in one register at once) and 40
polling agencies for 12 s. Asserts what the bench checks — every delivery seen, downloaded,
acked and accepted exactly once, every document stored once, registers gapless, the audit
chain intact, no failed request, no error in the servers' logs — never a timing.

On SQLite (the embedded default: one machine, one file) the two processes take turns at the
file's single writer lock, which is not fair: a waiter can pass its 10 s busy timeout and get
503 ``database_unavailable`` with ``Retry-After``. The clients retry those (with the same
``Idempotency-Key``), so the run there also proves that a retried write is not doubled; on
PostgreSQL no request may need a retry. SQLite gets a lighter load (4 senders, 20 pollers)."""
from __future__ import annotations

import pytest

from bench.soak import SoakConfig, report, run_soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_short_soak_loses_and_doubles_nothing(database_url, tmp_path):
    postgres = database_url.startswith("postgresql")
    config = SoakConfig(duration=12, senders=10 if postgres else 4, sender_agencies=2, pollers=40 if postgres else 20,
                        wait=5, drain_timeout=30)
    soak = run_soak(config, database_url, tmp_path)
    print("\n".join(report(soak)))
    assert soak.failures == []
    if postgres:
        assert not soak.retries
    # the run did something worth checking: documents to several agencies, through both servers
    assert soak.uploaded >= 4 and len(soak.dispatched) > soak.uploaded
    assert soak.books["outgoing"] == 2 and soak.books["incoming"] >= 4
    # upload, register and dispatch of each document, ack and acceptance of each delivery (and the set-up's)
    assert soak.audit_events >= 3 * soak.uploaded + 2 * len(soak.dispatched)
