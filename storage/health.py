"""Liveness and readiness probes."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from storage.blobs import BlobStoreUnavailable, store_from_app
from storage.db import DatabaseUnavailable, check_connection, engine_from_app

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    checks: dict[str, str] = {}
    try:
        check_connection(engine_from_app())
        checks["database"] = "ok"
    except DatabaseUnavailable as exc:
        current_app.logger.warning("readiness: database unavailable: %s", exc)
        checks["database"] = "unavailable"
    try:
        store_from_app().check()
        checks["blob_store"] = "ok"
    except BlobStoreUnavailable as exc:
        current_app.logger.warning("readiness: blob store unavailable: %s", exc)
        checks["blob_store"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), (200 if ready else 503)
