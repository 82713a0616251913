"""A database without the schema (never migrated, or behind the migrations' head): the service
starts, ``/readyz`` says ``not_migrated``, a request that needs a table answers
``503 schema_not_migrated`` (not a 500), and once ``flask db upgrade`` has run the same
process is ready without a restart."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from alembic.script import ScriptDirectory
from flask import Flask

from errors import ErrorCode
from settings import Settings
from storage.migrations import alembic_config, head_revision, upgrade
from tests.conftest import empty_database
from tests.flask_cli import run_flask

BEARER = {"Authorization": "Bearer lt_no-such-token"}


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    with empty_database(tmp_path, name="empty") as url:
        yield url


def _app(tmp_path: Path, url: str) -> Flask:
    from app import create_app

    return create_app(Settings(data_dir=tmp_path / "var", database_url=url, testing=True))


@pytest.fixture
def started(tmp_path: Path, empty_url: str) -> Iterator[tuple[Flask, str]]:
    app = _app(tmp_path, empty_url)
    yield app, empty_url
    app.extensions["lienthong.services"].close()


def _readiness(client: Any) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.get_json()


def _assert_not_migrated(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == ErrorCode.SCHEMA_NOT_MIGRATED and error["message"]


def _flask_db_upgrade(tmp_path: Path, url: str) -> None:
    """What the operator runs: ``flask --app app db upgrade``, in its own process."""
    done = run_flask(Settings(data_dir=tmp_path / "var", database_url=url), "db", "upgrade")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_never_migrated_database_is_not_ready_until_upgraded(started, tmp_path):
    app, url = started
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # the process is alive: only readiness fails
    status, body = _readiness(client)
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"] == {"database": "ok", "schema": "not_migrated", "blob_store": "ok", "disk": "ok",
                              "stored_files": "not_checked"}

    _assert_not_migrated(client.get("/api/v1/agencies", headers=BEARER))  # a read
    _assert_not_migrated(client.post("/api/v1/session", json={"username": "ai.do", "password": "x" * 12}))  # a write
    as_browser = client.get("/api/v1/agencies", headers={**BEARER, "Accept": "text/html"})
    _assert_not_migrated(as_browser)

    _flask_db_upgrade(tmp_path, url)
    status, body = _readiness(client)
    assert status == 200 and body["checks"]["schema"] == "ok", body
    # the tables are there now: an unknown token is simply refused
    refused = client.get("/api/v1/agencies", headers=BEARER)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == ErrorCode.UNAUTHORIZED


def test_a_database_behind_head_is_not_migrated(tmp_path, empty_url):
    head = head_revision()
    previous = ScriptDirectory.from_config(alembic_config(empty_url)).get_revision(head).down_revision
    assert isinstance(previous, str), "needs a migration before the head"
    upgrade(empty_url, previous)
    app = _app(tmp_path, empty_url)
    try:
        client = app.test_client()
        status, body = _readiness(client)
        assert status == 503 and body["checks"]["database"] == "ok" and body["checks"]["schema"] == "not_migrated"
        upgrade(empty_url)
        status, body = _readiness(client)
        assert status == 200 and body == {"status": "ready",
                                          "checks": {"database": "ok", "schema": "ok", "blob_store": "ok",
                                                     "disk": "ok", "stored_files": "ok"}}
    finally:
        app.extensions["lienthong.services"].close()
