"""``GET /metrics`` (Prometheus text format) and the per-endpoint request metrics.

Operators only, and it must not leak to the world: it answers a caller on the loopback
interface, or one presenting ``Authorization: Bearer <LIENTHONG_METRICS_TOKEN>``; anyone else
gets the same 404 as an unknown path (nothing tells them it exists). Agency and user tokens
give no access. Without ``LIENTHONG_PROXY_HOPS`` a request relayed by a reverse proxy on the
same machine comes from loopback too, so one carrying ``X-Forwarded-For``/``Forwarded`` is
not taken for a local one.
"""
from __future__ import annotations

import hmac
import ipaddress
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request

from exchange.adapters import metrics
from exchange.services import metrics as metrics_service

bp = Blueprint("metrics", __name__)
UNMATCHED = "unmatched"  # no endpoint (404): the path is not a label, whatever was asked for


@bp.get("/metrics")
def scrape() -> Response:
    if not _may_scrape():
        abort(404)
    body = metrics_service.exposition(current_app.extensions["lienthong.services"])
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE)


def _may_scrape() -> bool:
    settings = current_app.extensions["lienthong.settings"]
    token = settings.metrics_token
    presented = request.headers.get("Authorization", "")
    if token and presented.startswith("Bearer ") and hmac.compare_digest(presented[7:].encode(), token.encode()):
        return True
    if not settings.proxy_hops and ("X-Forwarded-For" in request.headers or "Forwarded" in request.headers):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _record(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        endpoint = request.endpoint or UNMATCHED
        metrics.HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
    return response


def install(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_record)
    app.register_blueprint(bp)
