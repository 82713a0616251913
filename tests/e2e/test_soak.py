"""The soak of ``bench/soak.py``, short: two gunicorn processes on the test's database and one
moto S3 server, 10 senders (2 agencies, so clerks number in one register at once) and 40
polling agencies for 20 s. Asserts what the bench checks — every delivery seen, downloaded,
acked and accepted exactly once, every document stored once, registers gapless, the audit
chain intact, no failed request, no error in the servers' logs — never a timing."""
from __future__ import annotations

import pytest

from bench.soak import SoakConfig, report, run_soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_short_soak_loses_and_doubles_nothing(database_url, tmp_path):
    config = SoakConfig(duration=20, senders=10, sender_agencies=2, pollers=40, wait=5, drain_timeout=30)
    soak = run_soak(config, database_url, tmp_path)
    print("\n".join(report(soak)))
    assert soak.failures == []
    # the run did something worth checking: documents to several agencies, through both servers
    assert soak.uploaded >= 10 and len(soak.dispatched) > soak.uploaded
    assert soak.books["outgoing"] == 2 and soak.books["incoming"] >= 10
    assert soak.audit_events >= 4 * len(soak.dispatched)
