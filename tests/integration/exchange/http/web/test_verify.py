"""``/verify``: any PDF (field ``file``) → the printable report, in the page's language;
not a PDF → the form again, with the refusal in words; nothing stored either way."""
from __future__ import annotations

import io

import pytest

from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf, snapshot
from tests.integration.exchange.http.web.test_foundation import BROWSER, log_in


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def test_an_auditor_checks_any_pdf_and_reads_the_report(app, client, world, engine):
    csrf = log_in(client, world, "auditor")
    page = client.get("/verify").get_data(as_text=True)
    assert 'name="file"' in page and "Kiểm tra chữ ký" in page
    before = snapshot(engine, app)
    r = client.post("/verify", data={"csrf_token": csrf, "file": (io.BytesIO(make_pdf()), "bat-ky.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and r.mimetype == "text/html" and "chữ ký" in r.get_data(as_text=True).lower()
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    refused = client.post("/verify", data={"csrf_token": csrf, "file": (io.BytesIO(b"not a pdf"), "x.pdf")},
                          content_type="multipart/form-data")
    assert refused.status_code == 415 and "tệp PDF" in refused.get_data(as_text=True)
    assert client.post("/verify", data={"csrf_token": csrf}).status_code == 422
    assert {k: v for k, v in snapshot(engine, app).items() if k not in ("audit_event", "audit_head")} == \
        {k: v for k, v in before.items() if k not in ("audit_event", "audit_head")}
    assert client.post("/verify", data={"file": (io.BytesIO(make_pdf()), "a.pdf")}, headers=BROWSER,
                       content_type="multipart/form-data").status_code == 400  # no CSRF token
