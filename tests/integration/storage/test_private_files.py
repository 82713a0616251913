"""The data folder is 0700 and what the service writes in it is for its user alone, even
under ``umask 000``: the blob store's folders and files, the SQLite database (and its WAL),
the Flask secret, the receipt key and the development PKI's keys."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from settings import Settings
from tests.exchange_fixtures import build_world, upload_via_api
from tests.db import session_scope


@pytest.fixture
def no_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_everything_private_under_umask_000(tmp_path: Path, no_umask: None) -> None:
    from app import create_app

    data = tmp_path / "var"  # SQLite in the data folder: the embedded default
    app = create_app(Settings(data_dir=data, testing=True))
    services = app.extensions["lienthong.services"]
    try:
        from storage.migrations import upgrade
        upgrade(Settings(data_dir=data).effective_database_url)
        with session_scope(services.engine, write=True) as s:
            world = build_world(s)
        assert upload_via_api(app.test_client(), world.headers("clerk")).status_code == 201
        assert services.pki.root is not None  # the development PKI, made on first use
    finally:
        services.close()
    assert _mode(data) == 0o700
    blobs = [p for p in (data / "blobs").rglob("*")]
    assert any(p.is_file() for p in blobs), "the upload stored no blob"
    for path in blobs:
        assert _mode(path) == (0o700 if path.is_dir() else 0o400), path
    for name in ("lienthong.db", "lienthong.db-wal", "secret_key", "receipt_key", "pki/root.p12", "pki/issuing.p12"):
        path = data / name
        if name.endswith("-wal") and not path.exists():
            continue  # checkpointed away when the last connection closed
        assert _mode(path) & 0o077 == 0, (name, oct(_mode(path)))


def test_an_existing_data_folder_is_made_private(tmp_path: Path) -> None:
    import bootstrap

    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    bootstrap.build(Settings(data_dir=data, testing=True)).close()
    assert _mode(data) == 0o700
