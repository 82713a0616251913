"""``GET /metrics``: who may read it (loopback or the metrics token, else 404), and what it
counts: requests and latency per Flask endpoint (never the raw path), parked long-polls,
dispatch sizes, verifications by indication, the outbox's age."""
from __future__ import annotations

import re

import io
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from tests.db import engine_from_app
from tests.exchange_fixtures import make_pdf
from tests.integration.exchange.delivery_support import sealed_document, world

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
METRICS_TOKEN = "metrics-secret-for-the-test"


def samples(client, **kwargs) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    r = client.get("/metrics", **kwargs)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.get_data(as_text=True)) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


@pytest.fixture
def token_app(settings):  # type: ignore[no-untyped-def]
    application = create_app(settings.with_changes(metrics_token=METRICS_TOKEN))
    yield application
    application.extensions["lienthong.services"].close()


def test_only_loopback_or_the_metrics_token_may_read_it(token_app, app, w):
    client = token_app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client calls from 127.0.0.1
    refused = [
        client.get("/metrics", environ_base=OUTSIDE),
        client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer wrong"}),
        client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": f"Bearer {METRICS_TOKEN}x"}),
        # an agency's system and a clerk are no operators
        client.get("/metrics", environ_base=OUTSIDE, headers=w.headers(w.all_communes[0])),
        client.get("/metrics", environ_base=OUTSIDE, headers=w.headers("clerk")),
        # relayed by a reverse proxy on this machine (no LIENTHONG_PROXY_HOPS): not a local caller
        client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}),
    ]
    for r in refused:
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found", r.get_data(as_text=True)
        assert b"lienthong_" not in r.get_data()
    assert client.get("/metrics", environ_base=OUTSIDE,
                      headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    # without a token set, the outside world gets nothing even with the token a deployment might use
    other = app.test_client()
    assert other.get("/metrics", environ_base=OUTSIDE,
                     headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 404


def test_requests_are_counted_per_endpoint_not_per_path(app, client, w):
    before = samples(client)
    for document_id in (987654, 987655):
        assert client.get(f"/api/v1/documents/{document_id}", headers=w.headers("clerk")).status_code == 404
    assert client.get("/no/such/path/4242").status_code == 404
    after = samples(client)
    labels = {"endpoint": "api_documents.get_document", "method": "GET", "status": "404"}
    assert value(after, "lienthong_http_requests_total", **labels) - \
        value(before, "lienthong_http_requests_total", **labels) == 2
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "lienthong_http_requests_total", **unmatched) - \
        value(before, "lienthong_http_requests_total", **unmatched) == 1
    latency = {"endpoint": "api_documents.get_document", "method": "GET"}
    assert value(after, "lienthong_http_request_duration_seconds_count", **latency) - \
        value(before, "lienthong_http_request_duration_seconds_count", **latency) == 2
    text = client.get("/metrics").get_data(as_text=True)
    labels = " ".join(re.findall(r"\{[^}]*\}", text))  # values may hold any digits; labels may not
    assert "987654" not in labels and "4242" not in labels  # no path, no id, in any label


def test_parked_polls_dispatch_sizes_verifications_and_the_outbox_age(app, client, w):
    recipient = w.all_communes[0]
    before = samples(client)
    assert 0 < before[("lienthong_outbox_newest_event_age_seconds", ())] < 60  # the world's setup was audited

    answered: list[int] = []
    poller = threading.Thread(target=lambda: answered.append(
        app.test_client().get("/api/v1/inbox?wait=10", headers=w.headers(recipient)).status_code))
    poller.start()
    deadline = time.monotonic() + 5
    while value(samples(client), "lienthong_inbox_parked_polls") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert value(samples(client), "lienthong_inbox_parked_polls") == 1

    doc = sealed_document(engine_from_app(app), w)
    sent = client.post(f"/api/v1/documents/{doc}/dispatches", json={"to": w.all_communes[:3]},
                       headers={**w.headers("clerk"), "Idempotency-Key": "metrics"})
    assert sent.status_code == 201, sent.json
    assert samples(client)[("lienthong_outbox_newest_event_age_seconds", ())] < 2  # the dispatch was audited now
    poller.join(10)
    assert answered == [200]
    verified = client.post("/api/v1/verify", headers=w.headers("clerk"), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(make_pdf()), "a.pdf")})
    assert verified.status_code == 200, verified.json

    after = samples(client)
    assert value(after, "lienthong_inbox_parked_polls") == 0
    assert value(after, "lienthong_dispatch_recipients_count") - value(before, "lienthong_dispatch_recipients_count") == 1
    assert value(after, "lienthong_dispatch_recipients_sum") - value(before, "lienthong_dispatch_recipients_sum") == 3
    indication = {"indication": verified.json["indication"]}
    assert value(after, "lienthong_verification_duration_seconds_count", **indication) - \
        value(before, "lienthong_verification_duration_seconds_count", **indication) == 1


def test_an_empty_outbox_has_no_age(services):
    from exchange.services import metrics as metrics_service

    text = metrics_service.exposition(services).decode()
    assert "lienthong_inbox_parked_polls" in text
    assert "lienthong_outbox_newest_event_age_seconds" not in text
