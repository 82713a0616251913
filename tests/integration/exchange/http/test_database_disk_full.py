"""The data disk full under the database itself (SQLite on a real small tmpfs holding the
whole data folder): a write answers 507 ``storage_full`` without ``Retry-After`` (before:
503 ``database_unavailable`` "try again later", though waiting cures nothing), nothing is
half-written, and once room is made the retry with the same Idempotency-Key succeeds once;
the audit chain verifies. (A full disk under the blobs: test_storage_trust.py -k full.)"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from exchange.adapters.audit_log import verify_chain
from exchange.models import Delivery, Dispatch
from settings import Settings
from storage.db import make_engine
from storage.schema import import_all_models
from tests.conftest import TEST_DATABASE_URL, _create_schema
from tests.db import session_scope
from tests.exchange_fixtures import build_world
from tests.integration.exchange.delivery_support import sealed_document

pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="the database under test is a server's, "
                                "not on a disk this test can fill (SQLite only)")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB tmpfs (mounting needs root)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_under_sqlite_answers_507_and_the_retry_succeeds_once(small_disk: Path) -> None:
    from app import create_app

    url = f"sqlite:///{small_disk / 'lienthong.db'}"
    engine = make_engine(url)
    _create_schema(engine, import_all_models())
    with session_scope(engine, write=True) as session:
        world = build_world(session)
    doc = sealed_document(engine, world)
    app = create_app(Settings(data_dir=small_disk / "var", database_url=url, testing=True))
    try:
        client = app.test_client()
        headers = {**world.headers("clerk"), "Idempotency-Key": "o-dia-day"}
        body = {"children_of": world.province, "level": "commune"}
        filler = _fill(small_disk)
        full = client.post(f"/api/v1/documents/{doc}/dispatches", json=body, headers=headers)
        assert full.status_code == 507, full.get_json()
        assert full.get_json()["error"]["code"] == "storage_full" and "Retry-After" not in full.headers
        filler.unlink()  # the operator makes room
        with engine.connect() as conn:
            counts = [conn.execute(sa.select(sa.func.count()).select_from(m)).scalar_one() for m in (Dispatch, Delivery)]
        assert counts == [0, 0]  # nothing half-written
        first = client.post(f"/api/v1/documents/{doc}/dispatches", json=body, headers=headers)
        assert first.status_code == 201, first.get_json()
        again = client.post(f"/api/v1/documents/{doc}/dispatches", json=body, headers=headers)
        assert again.status_code == 200 and again.get_json() == first.get_json()
        with engine.connect() as conn:
            counts = [conn.execute(sa.select(sa.func.count()).select_from(m)).scalar_one() for m in (Dispatch, Delivery)]
        assert counts == [1, len(world.all_communes)]
        with session_scope(engine) as session:
            chain = verify_chain(session)
        assert chain.ok and chain.checked > 0, chain
    finally:
        app.extensions["lienthong.services"].close()
        engine.dispose()
        os.sync()
