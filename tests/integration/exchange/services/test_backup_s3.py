"""Backup with the blobs in S3 (moto's server over real HTTP): without --copy-blobs the
manifest lists every blob and the bucket stays their copy; with it the blobs travel in the
backup folder and are restored into another, empty bucket."""
from __future__ import annotations

from typing import Iterator

import pytest

from exchange.services.backup import BLOB_DIR, create_backup, restore_backup
from settings import S3Settings, Settings
from storage.blobs import blob_key, read_bytes
from tests.db import services_of
from tests.integration.exchange.backup_support import KeepUploading, build_backup_world, fresh_database
from tests.s3server import S3Endpoint, moto_s3_server
from tests.signing_world import pki_template, signing_world  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def moto() -> Iterator[S3Endpoint]:
    with moto_s3_server() as endpoint:
        yield endpoint


def _s3(endpoint: S3Endpoint, bucket: str) -> S3Settings:
    return S3Settings(endpoint=endpoint.endpoint, access_key=endpoint.access_key, secret_key=endpoint.secret_key,
                      bucket=bucket)


@pytest.fixture
def settings(tmp_path, database_url, moto) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True,
                    s3=_s3(moto, "live-documents"))


def _restore_into(tmp_path, url: str, s3: S3Settings):  # type: ignore[no-untyped-def]
    import bootstrap

    return bootstrap.build(Settings(data_dir=tmp_path / "restored", database_url=url, testing=True, s3=s3))


def test_s3_backups_list_the_blobs_or_copy_them_and_both_restore(app, client, signing_world, tmp_path, moto):
    svc = services_of(app)
    build_backup_world(client, signing_world)
    writer = KeepUploading(app, signing_world.headers("clerk"))
    writer.start()
    assert writer.first.wait(30), writer.errors
    try:
        listed = create_backup(svc, tmp_path / "listed")
        copied = create_backup(svc, tmp_path / "copied", copy_blobs=True)
    finally:
        writer.stop()
    assert not writer.errors
    assert listed["blob_store"] == "s3" and not listed["blobs_copied"] and "versioned" in listed["note"]
    assert not (tmp_path / "listed" / BLOB_DIR).exists()
    assert all(len(b["sha256"]) == 64 and b["size"] > 0 for b in listed["blobs"])
    assert copied["blobs_copied"] and "note" not in copied
    for blob in copied["blobs"]:
        assert (tmp_path / "copied" / BLOB_DIR / blob_key(blob["sha256"])).stat().st_size == blob["size"]

    # the copied blobs go into a new, empty bucket
    with fresh_database(tmp_path / "a", copied["database"]["schema"]) as url:
        restored = _restore_into(tmp_path / "a", url, _s3(moto, "restored-documents"))
        try:
            check = restore_backup(restored, tmp_path / "copied")
            assert check.ok, check
            assert check.blobs_checked == copied["blob_count"]
            for blob in copied["blobs"]:
                assert read_bytes(restored.blobs, blob["sha256"]) == read_bytes(svc.blobs, blob["sha256"])
        finally:
            restored.close()
    # the listed ones are found in the (versioned) live bucket
    with fresh_database(tmp_path / "b", listed["database"]["schema"]) as url:
        restored = _restore_into(tmp_path / "b", url, _s3(moto, "live-documents"))
        try:
            check = restore_backup(restored, tmp_path / "listed")
            assert check.ok and check.blobs_checked == listed["blob_count"], check
        finally:
            restored.close()


def test_a_listed_blob_missing_from_the_bucket_fails_the_restore_check(app, client, signing_world, tmp_path, moto):
    svc = services_of(app)
    build_backup_world(client, signing_world)
    listed = create_backup(svc, tmp_path / "listed")
    with fresh_database(tmp_path / "a", listed["database"]["schema"]) as url:
        # an empty bucket that is not the one the blobs were kept in
        restored = _restore_into(tmp_path / "a", url, _s3(moto, "empty-bucket"))
        try:
            check = restore_backup(restored, tmp_path / "listed")
            assert not check.ok
            assert sorted(check.missing) == sorted(b["sha256"] for b in listed["blobs"])
        finally:
            restored.close()
