"""``/readyz`` fails when the store lost what the database refers to (the blob folder emptied
or replaced by an empty one) and when the data disk is nearly full; neither is cured by
waiting, so no Retry-After."""
from __future__ import annotations

import shutil

from tests.db import session_scope
from tests.exchange_fixtures import build_world, upload_via_api


def test_an_emptied_blob_folder_makes_the_service_unready(app, client, engine):
    assert client.get("/readyz").status_code == 200  # nothing stored yet: nothing to miss
    with session_scope(engine, write=True) as s:
        world = build_world(s)
    assert upload_via_api(client, world.headers("clerk")).status_code == 201
    assert client.get("/readyz").get_json()["checks"]["stored_files"] == "ok"
    shutil.rmtree(app.extensions["lienthong.settings"].blob_dir)  # a wiped volume, an unmounted disk
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["stored_files"] == "missing"
    assert "Retry-After" not in ready.headers


def test_a_nearly_full_disk_makes_the_service_unready(settings):
    from app import create_app

    app = create_app(settings.with_changes(min_free_disk_mb=10 ** 12))  # more room than any disk has
    try:
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["disk"] == "nearly_full"
        assert "Retry-After" not in ready.headers
    finally:
        app.extensions["lienthong.services"].close()
