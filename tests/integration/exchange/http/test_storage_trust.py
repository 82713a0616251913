"""Storage you can trust, over HTTP (issue 12 item 3): a lost store makes /readyz fail and
uploads answer 503 storage_missing instead of being re-created; a full disk answers 507
storage_full and leaves nothing behind; an upload heals a missing or damaged stored blob."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from exchange.models import Document
from storage.blobs import read_bytes
from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, build_world, make_pdf, upload_via_api
from tests.pdfs import write_big_pdf
from tests.storage_apps import lose_store, moto, store_app  # noqa: F401  (fixtures)


def _documents(app: Any) -> int:
    with app.extensions["lienthong.engine"].connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Document)).scalar_one()


def test_a_lost_store_is_refused_not_recreated(store_app: Any) -> None:
    client = store_app.test_client()
    with session_scope(store_app.extensions["lienthong.engine"], write=True) as s:
        world = build_world(s)
    assert upload_via_api(client, world.headers("clerk")).status_code == 201
    lose_store(store_app)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["blob_store"] == "missing"
    assert "Retry-After" not in ready.headers
    refused = upload_via_api(client, world.headers("clerk"), pdf=make_pdf("sau khi mất kho"))
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "storage_missing" and "Retry-After" not in refused.headers
    assert _documents(store_app) == 1
    settings = store_app.extensions["lienthong.settings"]
    if settings.s3 is None:
        assert not settings.blob_dir.exists()  # not re-created
    else:
        from minio import Minio

        assert not Minio(settings.s3.endpoint, settings.s3.access_key, settings.s3.secret_key,
                         secure=False).bucket_exists(settings.s3.bucket)


def test_uploading_the_same_bytes_again_heals_a_damaged_or_missing_blob(store_app: Any) -> None:
    client = store_app.test_client()
    blobs = store_app.extensions["lienthong.services"].blobs
    with session_scope(store_app.extensions["lienthong.engine"], write=True) as s:
        world = build_world(s)
    pdf = make_pdf("văn bản sẽ hỏng")
    sha = hashlib.sha256(pdf).hexdigest()
    assert upload_via_api(client, world.headers("clerk"), pdf=pdf).status_code == 201
    settings = store_app.extensions["lienthong.settings"]
    flipped = bytearray(pdf)
    flipped[-20] ^= 0x01  # the same size: only reading the bytes tells
    if settings.s3 is None:
        path = settings.blob_dir / "sha256" / sha[:2] / sha[2:4] / sha
        path.chmod(0o600)
        path.write_bytes(bytes(flipped))
    else:
        blobs.client.put_object(blobs.bucket, f"sha256/{sha[:2]}/{sha[2:4]}/{sha}", io.BytesIO(bytes(flipped)),
                                len(flipped))
    assert client.get("/api/v1/documents/1/content", headers=world.headers("clerk")).status_code == 503
    again = upload_via_api(client, world.headers("clerk"), pdf=pdf, metadata={"subject": "gửi lại bản gốc"})
    assert again.status_code == 201
    assert read_bytes(blobs, sha) == pdf
    assert client.get("/api/v1/documents/1/content", headers=world.headers("clerk")).data == pdf


def test_a_full_disk_answers_507_and_leaves_nothing(settings: Any, tmp_path: Path) -> None:
    """On a real 1 MB tmpfs mounted where the blobs go (the test needs root to mount)."""
    blob_dir = settings.blob_dir
    blob_dir.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(blob_dir)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    app = None
    try:
        from app import create_app

        app = create_app(settings)
        client = app.test_client()
        with session_scope(app.extensions["lienthong.engine"], write=True) as s:
            world = build_world(s)
        big = write_big_pdf(tmp_path / "big.pdf", 2).read_bytes()
        assert client.get("/readyz").get_json()["checks"]["blob_store"] == "ok"  # made: nothing referenced yet
        before = sorted(p.name for p in blob_dir.rglob("*") if p.is_file())
        assert before == ["lienthong-store"]
        full = client.post("/api/v1/documents", headers=world.headers("clerk"), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(big), "lon.pdf"), "metadata": json.dumps(DOCUMENT_METADATA)})
        assert full.status_code == 507, full.get_json()
        assert full.get_json()["error"]["code"] == "storage_full" and "Retry-After" not in full.headers
        assert sorted(p.name for p in blob_dir.rglob("*") if p.is_file()) == before  # no partial, no orphan
        assert _documents(app) == 0
        assert upload_via_api(client, world.headers("clerk")).status_code == 201  # a small one still fits
    finally:
        if app is not None:
            app.extensions["lienthong.services"].close()
        subprocess.run(["umount", str(blob_dir)], check=False)
        os.sync()
