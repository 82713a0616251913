"""Backup while the app keeps writing, restore onto a fresh database and data folder, every
hash and the audit chain checked; refusals leave nothing behind. Runs on SQLite, and on
PostgreSQL when LIENTHONG_TEST_DATABASE_URL is set (pg_dump on an exported snapshot)."""
from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from errors import Conflict, ServiceError
from exchange.models import Document
from exchange.services.backup import BLOB_DIR, MANIFEST, BackupFailed, create_backup, restore_backup
from storage.blobs import blob_key, read_bytes
from storage.db import make_engine
from storage.schema import import_all_models
from tests.conftest import TEST_DATABASE_URL, _create_schema
from tests.db import build_services, services_of, session_scope
from tests.exchange_fixtures import build_world, make_pdf, store_document
from tests.integration.exchange.backup_support import KeepUploading, build_backup_world, fresh_database
from translations import translate
from tests.signing_world import pki_template, signing_world  # noqa: F401 (fixtures)


def english(refusal: ServiceError) -> str:
    """A refusal's message in English (the catalogue's default language is Vietnamese)."""
    return translate(refusal.message, "en")


def _documents(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(Document)).scalar_one())


def test_a_backup_taken_while_uploads_go_on_restores_whole_and_verified(app, client, signing_world, tmp_path):
    svc = services_of(app)
    world = build_backup_world(client, signing_world)
    writer = KeepUploading(app, signing_world.headers("clerk"))
    writer.start()
    assert writer.first.wait(30), writer.errors
    before, uploads_before, started = _documents(svc.engine), writer.done, time.monotonic()
    try:
        manifest = create_backup(svc, tmp_path / "backup")
    finally:
        took, uploads_during = time.monotonic() - started, writer.done - uploads_before
        writer.stop()
    print(f"backup of {manifest['blob_count']} blobs ({manifest['blob_bytes']} bytes) in {took:.2f} s, "
          f"{uploads_during} uploads finished meanwhile")
    after = _documents(svc.engine)
    assert not writer.errors
    assert before <= manifest["counts"]["document"] <= after
    assert manifest["blobs_copied"] and manifest["blob_store"] == "filesystem"
    assert manifest["audit_chain_head"]["seq"] > 0 and len(manifest["audit_chain_head"]["hash"]) == 64
    assert manifest["schema_revision"] and manifest["tool_version"]
    assert manifest["counts"]["dispatch"] == 1 and manifest["counts"]["delivery"] == 2
    assert manifest["counts"]["attachment"] == 2 and manifest["counts"]["revision"] >= manifest["counts"]["document"]
    assert json.loads((tmp_path / "backup" / MANIFEST).read_text()) == manifest
    assert (tmp_path / "backup").stat().st_mode & 0o077 == 0  # the agencies' documents: the service's user alone
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left

    with fresh_database(tmp_path, manifest["database"]["schema"]) as url:
        restored = build_services(url, tmp_path / "restored")
        try:
            started = time.monotonic()
            check = restore_backup(restored, tmp_path / "backup")
            print(f"restore and its checks in {time.monotonic() - started:.2f} s")
            assert check.ok, check
            assert check.blobs_checked == manifest["blob_count"] > manifest["counts"]["document"]
            assert check.chain_checked == manifest["audit_chain_head"]["seq"]
            assert _documents(restored.engine) == manifest["counts"]["document"]
            for blob in manifest["blobs"]:  # byte for byte what the live store holds
                assert read_bytes(restored.blobs, blob["sha256"]) == read_bytes(svc.blobs, blob["sha256"])
            with restored.engine.connect() as conn:
                states = dict(conn.execute(sa.select(Document.id, Document.state)).all())  # type: ignore[call-overload]
            assert states[world["sealed"]] == "sent" and states[world["draft"]] == "draft"
        finally:
            restored.close()


def test_a_corrupted_backup_blob_is_found_at_restore_and_nothing_is_restored(app, client, signing_world, tmp_path):
    svc = services_of(app)
    build_backup_world(client, signing_world)
    manifest = create_backup(svc, tmp_path / "backup")
    damaged = manifest["blobs"][0]["sha256"]
    path = tmp_path / "backup" / BLOB_DIR / blob_key(damaged)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with fresh_database(tmp_path, manifest["database"]["schema"]) as url:
        restored = build_services(url, tmp_path / "restored")
        try:
            with pytest.raises(BackupFailed) as refused:
                restore_backup(restored, tmp_path / "backup")
            assert damaged in str(refused.value.message)
            with restored.engine.connect() as conn:
                assert not sa.inspect(conn).get_table_names()
            assert not list((tmp_path / "restored" / "blobs").rglob("sha256/*/*/*"))
        finally:
            restored.close()


def test_a_damaged_database_archive_is_refused(app, client, signing_world, tmp_path):
    svc = services_of(app)
    manifest = create_backup(svc, tmp_path / "backup")
    archive = tmp_path / "backup" / manifest["database"]["file"]
    archive.write_bytes(archive.read_bytes()[:-100])
    with fresh_database(tmp_path, manifest["database"]["schema"]) as url:
        restored = build_services(url, tmp_path / "restored")
        try:
            with pytest.raises(BackupFailed) as refused:
                restore_backup(restored, tmp_path / "backup")
            assert "damaged" in english(refused.value)
        finally:
            restored.close()


def test_restore_refuses_a_database_that_is_not_empty(app, client, signing_world, tmp_path):
    svc = services_of(app)
    create_backup(svc, tmp_path / "backup")
    documents = _documents(svc.engine)
    with pytest.raises(Conflict) as refused:
        restore_backup(svc, tmp_path / "backup")
    assert "not empty" in english(refused.value)
    assert _documents(svc.engine) == documents


def test_restore_refuses_a_data_folder_that_already_holds_files(app, client, signing_world, tmp_path):
    svc = services_of(app)
    build_backup_world(client, signing_world)
    manifest = create_backup(svc, tmp_path / "backup")
    with fresh_database(tmp_path, manifest["database"]["schema"]) as url:
        # the live data folder (with its blobs) over an empty database
        restored = build_services(url, svc.settings.data_dir)
        try:
            with pytest.raises(Conflict) as refused:
                restore_backup(restored, tmp_path / "backup")
            assert "data folder" in english(refused.value)
        finally:
            restored.close()


def test_a_backup_never_overwrites_and_a_failed_one_leaves_no_folder(app, client, signing_world, tmp_path):
    svc = services_of(app)
    build_backup_world(client, signing_world)
    (tmp_path / "taken").mkdir()
    with pytest.raises(Conflict) as refused:
        create_backup(svc, tmp_path / "taken")
    assert "already exists" in english(refused.value)
    # a blob damaged in the live store: the backup stops, and leaves nothing half-made
    with svc.engine.connect() as conn:
        sha256 = conn.exec_driver_sql("SELECT blob_sha256 FROM revision ORDER BY id DESC LIMIT 1").scalar_one()
    stored = svc.settings.blob_dir / blob_key(sha256)
    stored.chmod(0o600)
    stored.write_bytes(b"%PDF-1.7 not what was signed")
    with pytest.raises(BackupFailed, match=sha256):
        create_backup(svc, tmp_path / "backup")
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == []


@pytest.mark.parametrize("manifest", [None, "not json", {"format": 1}, {"format": 2},
                                      {"format": 1, "database": {"kind": "sqlite", "file": "../../elsewhere",
                                                                 "sha256": "0" * 64, "schema": None},
                                       "blobs_copied": True, "counts": {}, "audit_chain_head": {}, "blobs": []},
                                      {"format": 1, "database": {"kind": "sqlite", "file": "database.sqlite3",
                                                                 "sha256": "0" * 64, "schema": None},
                                       "blobs_copied": True, "counts": {}, "audit_chain_head": {},
                                       "blobs": [{"sha256": "../x", "size": 1}]}])
def test_not_a_backup_folder_is_refused(app, tmp_path, manifest):
    if manifest is not None:
        (tmp_path / MANIFEST).write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    with pytest.raises(ServiceError) as refused:
        restore_backup(services_of(app), tmp_path)
    assert "not a lienthong backup" in english(refused.value)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's default schema")
def test_postgresql_in_the_public_schema_restores_into_a_fresh_database(tmp_path):
    """Production's layout (no search_path in the URL: ``public``), which exists already in
    a fresh database: the archive's own CREATE SCHEMA is left out."""
    with fresh_database(tmp_path / "src", "public") as source_url:
        source_engine = make_engine(source_url)
        _create_schema(source_engine, import_all_models())
        source = build_services(source_url, tmp_path / "src")
        try:
            with session_scope(source.engine, write=True) as s:
                world = build_world(s)
                store_document(s, source.blobs, world, pdf=make_pdf("văn bản trong public"))
            manifest = create_backup(source, tmp_path / "backup")
        finally:
            source.close()
            source_engine.dispose()
    assert manifest["database"]["schema"] == "public" and manifest["counts"]["document"] == 1
    with fresh_database(tmp_path / "dst", "public") as url:
        restored = build_services(url, tmp_path / "restored")
        try:
            check = restore_backup(restored, tmp_path / "backup")
            assert check.ok and check.blobs_checked == 1, check
        finally:
            restored.close()
