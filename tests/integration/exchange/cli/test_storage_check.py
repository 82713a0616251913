"""``flask --app app storage check`` re-reads every blob the database references and names the
missing and corrupted ones by SHA-256 (exit 1); an intact store exits 0."""
from __future__ import annotations

import hashlib
import os

from tests.db import session_scope, store_from_app
from tests.exchange_fixtures import build_world, make_pdf, store_document
from tests.flask_cli import run_flask


def _blob_path(app, sha256: str):  # type: ignore[no-untyped-def]
    return app.extensions["lienthong.settings"].blob_dir / "sha256" / sha256[:2] / sha256[2:4] / sha256


def test_storage_check_names_missing_and_corrupted_blobs(app, engine, settings):
    pdfs = [make_pdf(f"văn bản {i}") for i in range(3)]
    with session_scope(engine, write=True) as s:
        world = build_world(s)
        for pdf in pdfs:
            store_document(s, store_from_app(app), world, pdf=pdf)
    intact = run_flask(settings, "storage", "check")
    assert intact.returncode == 0, intact.stderr
    assert "3" in intact.stdout

    missing, corrupted = (hashlib.sha256(pdf).hexdigest() for pdf in pdfs[:2])
    _blob_path(app, missing).unlink()
    damaged = _blob_path(app, corrupted)
    os.chmod(damaged, 0o600)
    data = bytearray(damaged.read_bytes())
    data[100] ^= 0x01  # one flipped bit
    damaged.write_bytes(bytes(data))
    broken = run_flask(settings, "storage", "check")
    assert broken.returncode == 1
    assert missing in broken.stderr and corrupted in broken.stderr
    assert hashlib.sha256(pdfs[2]).hexdigest() not in broken.stderr
