"""``flask --app app storage init`` creates a lost blob store on purpose and says (exit 1)
when the database still refers to files it lacks."""
from __future__ import annotations

import shutil

from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf, upload_via_api
from tests.flask_cli import run_flask


def test_storage_init_recreates_a_lost_store_and_names_the_loss(app, client, engine, settings):
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    assert upload_via_api(client, world.headers("clerk")).status_code == 201
    shutil.rmtree(settings.blob_dir)
    assert client.get("/readyz").get_json()["checks"]["blob_store"] == "missing"

    done = run_flask(settings, "storage", "init")
    assert done.returncode == 1 and "storage check" in done.stderr  # the newest document's file is still gone
    assert (settings.blob_dir / "lienthong-store").is_file()
    checks = client.get("/readyz").get_json()["checks"]
    assert checks["blob_store"] == "ok" and checks["stored_files"] == "missing"
    assert upload_via_api(client, world.headers("clerk"), pdf=make_pdf("sau khi tạo lại kho")).status_code == 201


def test_storage_init_on_an_intact_store_exits_0(app, settings):
    app.extensions["lienthong.services"].blobs.check()  # a new installation makes its store
    done = run_flask(settings, "storage", "init")
    assert done.returncode == 0, done.stderr
