"""Shared fixtures.

Database: each test gets its own database. SQLite by default (a file in the test's tmp
folder); when ``LIENTHONG_TEST_DATABASE_URL`` names a PostgreSQL server, each test gets
its own schema there (dropped afterwards), reached through ``search_path`` in the URL so
that subprocesses (a live server, racing workers) share it.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from settings import Settings
from storage.db import make_engine, normalise_url
from storage.migrations import head_revision
from storage.schema import import_all_models

TEST_DATABASE_URL = os.environ.get("LIENTHONG_TEST_DATABASE_URL", "").strip()


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    return f"lienthong database under test: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite'}"


# Names by which a test module reaches the database under test other than the fixture.
_DATABASE_MARKERS = ("database_url", "empty_database", "TEST_DATABASE_URL")


def _module_reaches_database(path: Path, seen: dict[Path, bool]) -> bool:
    if path not in seen:
        text = path.read_text(encoding="utf-8")
        seen[path] = any(marker in text for marker in _DATABASE_MARKERS)
    return seen[path]


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """On the PostgreSQL pass, only the tests that reach the database run: the others
    (PDF signing, parsing, settings…) would repeat the SQLite pass byte for byte and
    double CI's time. ``LIENTHONG_TEST_EVERYTHING=1`` runs them all anyway."""
    if not TEST_DATABASE_URL or os.environ.get("LIENTHONG_TEST_EVERYTHING") == "1":
        return
    seen: dict[Path, bool] = {}
    kept, deselected = [], []
    for item in items:
        reaches = "database_url" in getattr(item, "fixturenames", ()) or _module_reaches_database(
            Path(str(item.fspath)), seen
        )
        (kept if reaches else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{normalise_url(url)}{sep}options={quote(f'-csearch_path={schema}')}"


def _create_schema(engine: sa.Engine, metadata: sa.MetaData) -> None:
    """The models' tables, stamped at the migrations' head (as ``db upgrade`` leaves them):
    much faster than running every migration for every test; a test checks they agree."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head_revision()})


@contextmanager
def empty_database(tmp_path: Path, name: str = "test") -> Iterator[str]:
    """The URL of a database with nothing in it (no table, no ``alembic_version``): an SQLite
    file in ``tmp_path``, or a fresh PostgreSQL schema, dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(TEST_DATABASE_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database (schema created from the models) for one test."""
    metadata = import_all_models()
    with empty_database(tmp_path) as url:
        engine = make_engine(url)
        _create_schema(engine, metadata)
        engine.dispose()
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True)


@pytest.fixture
def services(settings: Settings):  # type: ignore[no-untyped-def]
    """The service's parts (bootstrap.build), for tests that call the services directly."""
    import bootstrap

    built = bootstrap.build(settings)
    yield built
    built.close()


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from app import create_app

    application = create_app(settings)
    yield application
    application.extensions["lienthong.services"].close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()
