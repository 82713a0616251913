"""``/metrics`` under gunicorn (2 gevent workers): every worker's counts add up, whichever
worker answers the scrape (prometheus_client's multiprocess mode, set up by gunicorn.conf.py
under the data folder)."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.gunicorn_support import gunicorn

pytestmark = pytest.mark.e2e
REQUESTS = 40
MAX_REQUESTS = 400


def _healthz_count(text: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "lienthong_http_requests_total" and s.labels.get("endpoint") == "health.healthz")


def _writers(folder: Path) -> set[str]:
    """The pids that wrote request counters (prometheus_client names its files ``counter_<pid>.db``)."""
    return {f.stem.rsplit("_", 1)[-1] for f in folder.glob("counter_*.db")}


def test_the_counts_of_both_workers_add_up(tmp_path, database_url):
    data_dir = tmp_path / "var"
    env = {"LIENTHONG_DATA_DIR": str(data_dir), "LIENTHONG_DATABASE_URL": database_url}
    with gunicorn("app:create_app()", env) as base:
        before = _healthz_count(requests.get(f"{base}/metrics", timeout=10).text)
        folder, sent = data_dir / "prometheus", 0
        # a connection each, until both workers have served some (the kernel picks the worker)
        while sent < MAX_REQUESTS and (sent < REQUESTS or len(_writers(folder)) < 2):
            requests.get(f"{base}/healthz", timeout=10, headers={"Connection": "close"}).raise_for_status()
            sent += 1
        writers = _writers(folder)
        for _ in range(4):  # each scrape may reach either worker: all must see the same total
            assert _healthz_count(requests.get(f"{base}/metrics", timeout=10).text) - before == sent
    assert len(writers) == 2, writers  # both workers served (and wrote) requests
