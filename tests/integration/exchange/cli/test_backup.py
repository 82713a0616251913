"""``flask --app app backup DIR`` and ``restore DIR`` as an operator runs them: the exit codes
and what they print (in Vietnamese by default, English on request)."""
from __future__ import annotations

import json

from settings import Settings
from tests.db import session_scope, store_from_app
from tests.exchange_fixtures import build_world, make_pdf, store_document
from tests.flask_cli import run_flask, run_flask_side_by_side
from tests.integration.exchange.backup_support import fresh_database

ENGLISH = {"LIENTHONG_LANGUAGE": "en"}


def test_backup_then_restore_and_the_refusals(app, engine, settings, tmp_path):
    with session_scope(engine, write=True) as s:
        world = build_world(s)
        for i in range(3):
            store_document(s, store_from_app(app), world, pdf=make_pdf(f"văn bản {i}"))
    backup = tmp_path / "backup"
    made = run_flask(settings, "backup", str(backup), env=ENGLISH)
    assert made.returncode == 0, made.stderr
    assert "backup written to" in made.stdout and "3 documents" in made.stdout and "3 stored files" in made.stdout
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["blob_count"] == 3

    again, onto_live, not_a_backup = run_flask_side_by_side(settings, [
        ["backup", str(backup)], ["restore", str(backup)], ["restore", str(tmp_path)]], env=ENGLISH)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert onto_live.returncode == 1 and "not empty" in onto_live.stderr
    assert not_a_backup.returncode == 1 and "not a lienthong backup" in not_a_backup.stderr

    with fresh_database(tmp_path, manifest["database"]["schema"]) as url:
        restored = Settings(data_dir=tmp_path / "restored", database_url=url, testing=True)
        restore = run_flask(restored, "restore", str(backup), env=ENGLISH)
        assert restore.returncode == 0, restore.stderr
        assert "3 stored files present and intact" in restore.stdout
        twice = run_flask(restored, "restore", str(backup))  # the operator's language: Vietnamese
        assert twice.returncode == 1 and "không trống" in twice.stderr
