"""Liveness and readiness probes: ``/healthz`` (the process answers) and ``/readyz`` (the
database answers and its schema is at the migrations' head, the blob store answers)."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify

from storage.blobs import BlobStore, BlobStoreUnavailable
from storage.db import DatabaseUnavailable, check_connection
from storage.migrations import schema_is_current

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
READY_RETRY_AFTER_S = 5


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    engine = current_app.extensions["lienthong.engine"]
    store: BlobStore = current_app.extensions["lienthong.blobs"]
    checks: dict[str, str] = {}
    try:
        check_connection(engine)
        checks["database"] = "ok"
        checks["schema"] = "ok" if schema_is_current(engine) else "not_migrated"
    except (DatabaseUnavailable, sa.exc.SQLAlchemyError) as exc:
        log.warning("readiness: database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        checks["database"] = checks["schema"] = "unavailable"
    try:
        store.check()
        checks["blob_store"] = "ok"
    except BlobStoreUnavailable as exc:
        log.warning("readiness: blob store unavailable: %s", exc)
        checks["blob_store"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify(status="ready" if ready else "unavailable", checks=checks)
    if "unavailable" in checks.values():  # a part not answering may answer soon; not_migrated waits for an operator
        response.headers["Retry-After"] = str(READY_RETRY_AFTER_S)
    return response, (200 if ready else 503)
