"""Server signing and remote prepare read the file in a killable worker first (issue 11,
item 7): a stored file that takes longer than the budget to parse is refused with 422
``pdf_too_complex`` and nothing changes."""
from __future__ import annotations

import io
import json
import time

from tests import hostile_pdfs
from tests.exchange_fixtures import DOCUMENT_METADATA, snapshot
from tests.signing_world import issue_held_key, pki_template, signing_world  # noqa: F401 (fixtures)


def test_signing_and_prepare_refuse_a_file_that_parses_too_slowly(client, app, engine, settings, signing_world):
    sw = signing_world
    slow = hostile_pdfs.slow_xref_stream()  # under the pre-scan's caps: the upload takes it
    up = client.post("/api/v1/documents", headers=sw.headers("clerk"), content_type="multipart/form-data",
                     data={"file": (io.BytesIO(slow), "a.pdf"), "metadata": json.dumps(DOCUMENT_METADATA)})
    assert up.status_code == 201, up.get_json()
    doc_id = up.get_json()["id"]
    services = app.extensions["lienthong.services"]
    services.settings = services.settings.with_changes(verify_time_budget_s=0.3)
    before = snapshot(engine, app)
    started = time.monotonic()
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"), json={"profile": "person"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "pdf_too_complex", r.get_json()
    assert time.monotonic() - started < 5  # the worker start included
    assert snapshot(engine, app) == before

    held = issue_held_key(settings, full_name="Trần Văn Ánh", agency_code=sw.world.province,
                          agency_name="UBND tỉnh Thử Nghiệm")
    started = time.monotonic()
    r = client.post(f"/api/v1/documents/{doc_id}/signatures/prepare", headers=sw.headers("signer"),
                    json={"certificate": held.pem, "profile": "person", "level": "B-LT"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "pdf_too_complex", r.get_json()
    assert time.monotonic() - started < 3
    assert snapshot(engine, app) == before
