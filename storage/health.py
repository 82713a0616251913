"""Liveness and readiness probes: ``/healthz`` (the process answers) and ``/readyz`` (the
database answers and its schema is at the migrations' head, the blob store answers, the data
disk has room, and whatever the app registers under ``READINESS_KEY``: name → a check
returning "ok" or what is wrong, e.g. the newest stored file missing from the store)."""
from __future__ import annotations

import logging
import shutil
from typing import Callable, Mapping

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify

from settings import Settings
from storage.blobs import BlobStore, BlobStoreMissing, BlobStoreUnavailable
from storage.db import DatabaseUnavailable, check_connection
from storage.migrations import schema_is_current

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
READY_RETRY_AFTER_S = 5
READINESS_KEY = "lienthong.readiness"  # app.extensions: dict[str, Callable[[], str]]


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
    except BlobStoreMissing as exc:  # an operator must act: no Retry-After
        log.error("readiness: %s", exc)
        checks["blob_store"] = "missing"
    except BlobStoreUnavailable as exc:
        log.warning("readiness: blob store unavailable: %s", exc)
        checks["blob_store"] = "unavailable"
    checks["disk"] = _disk(current_app.extensions["lienthong.settings"])
    extra: Mapping[str, Callable[[], str]] = current_app.extensions.get(READINESS_KEY, {})
    for name, check in extra.items():
        if checks["schema"] != "ok":  # they read the service's tables
            checks[name] = "not_checked"
            continue
        try:
            checks[name] = check()
        except BlobStoreMissing:
            checks[name] = "missing"
        except BlobStoreUnavailable as exc:
            log.warning("readiness: %s: blob store unavailable: %s", name, exc)
            # a bucket that is gone answers "no such bucket" to every lookup: that is no outage
            checks[name] = "missing" if checks["blob_store"] == "missing" else "unavailable"
        except (DatabaseUnavailable, sa.exc.SQLAlchemyError):
            checks[name] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify(status="ready" if ready else "unavailable", checks=checks)
    if "unavailable" in checks.values():  # a part not answering may answer soon; not_migrated waits for an operator
        response.headers["Retry-After"] = str(READY_RETRY_AFTER_S)
    return response, (200 if ready else 503)


def _disk(settings: Settings) -> str:
    """"nearly_full" when the data folder's disk has less room than LIENTHONG_MIN_FREE_DISK_MB
    (uploads, the SQLite database and the S3 spool all write there)."""
    try:
        free_mb = shutil.disk_usage(settings.data_dir).free // (1024 * 1024)
    except OSError:
        return "unavailable"
    return "ok" if free_mb >= settings.min_free_disk_mb else "nearly_full"
