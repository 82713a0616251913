"""The service's Prometheus metrics (``prometheus_client``), and their text exposition.

Under gunicorn each worker is a process of its own: with ``PROMETHEUS_MULTIPROC_DIR`` set
before ``prometheus_client`` is first imported (gunicorn.conf.py sets it to
``<data dir>/prometheus`` in the master), every worker writes its values to files there and a
scrape, whichever worker answers it, adds up all of them (``MultiProcessCollector``). Without
it (``python app.py``, tests) the process's own registry is served.

Labels are bounded: the Flask endpoint name (never the raw path, which carries ids), the
method, the status code, the verification's indication.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter("lienthong_http_requests", "HTTP requests answered, per Flask endpoint",
                        ["endpoint", "method", "status"])
HTTP_LATENCY = Histogram("lienthong_http_request_duration_seconds",
                         "Time to answer an HTTP request, per Flask endpoint (long-polls include their wait)",
                         ["endpoint", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
PARKED_POLLS = Gauge("lienthong_inbox_parked_polls", "Inbox long-polls waiting for news now",
                     multiprocess_mode="livesum")  # the sum over the live workers
DISPATCH_RECIPIENTS = Histogram("lienthong_dispatch_recipients", "Deliveries made by one committed dispatch",
                                buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000))
VERIFICATION_DURATION = Histogram("lienthong_verification_duration_seconds",
                                  "Time to verify one PDF's signatures, per outcome (indication)", ["indication"],
                                  buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))


class _Computed(Collector):
    """Gauges computed at scrape time (from the database, not from any one process)."""

    def __init__(self, gauges: Iterable[tuple[str, str, float | None]]) -> None:
        self.gauges = list(gauges)

    def collect(self) -> Iterable[Metric]:
        for name, documentation, value in self.gauges:
            if value is not None:
                family = GaugeMetricFamily(name, documentation)
                family.add_metric([], value)
                yield family


def exposition(computed: Callable[[], Iterable[tuple[str, str, float | None]]]) -> bytes:
    """The text exposition: the metrics above (every worker's, in multiprocess mode) and the
    gauges ``computed`` returns as (name, help, value or None to leave it out)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        recorded = generate_latest(registry)
    else:
        recorded = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(_Computed(computed()))
    return recorded + generate_latest(extra)

