"""Văn bản đi in the pages: the list with its search, the upload form (the API's field names,
input kept on error, nothing stored on a refusal, the browser lands on /documents/<id>), the
document's page — and never another agency's document."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from exchange.models import Attachment, Document
from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf, snapshot, store_document
from tests.integration.exchange.http.web.test_foundation import BROWSER, csrf_of, log_in

FIELDS = {"number": "", "notation": "UBND-VP", "doc_type": "Công văn", "subject": "V/v họp giao ban tháng 12",
          "urgency": "urgent", "issued_on": "2026-12-01", "place": "Vĩnh Long", "signer_name": "Trần Văn Ánh",
          "signer_position": "Chủ tịch", "due_on": "2026-12-15"}


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def post_upload(client, csrf: str, fields: dict, *, pdf: bytes | None = None, attachments=()):  # type: ignore[no-untyped-def]
    data = {**fields, "csrf_token": csrf}
    if pdf is not None:
        data["file"] = (io.BytesIO(pdf), "cong-van.pdf")
    data["attachments"] = [(io.BytesIO(content), name) for name, content in attachments]
    return client.post("/outgoing/new", data=data, content_type="multipart/form-data", headers=BROWSER)


def test_the_upload_form_names_the_api_fields(client, world):
    log_in(client, world)
    html = client.get("/outgoing/new").get_data(as_text=True)
    for name in [*FIELDS, "file", "attachments"]:
        assert f'name="{name}"' in html, name


def test_an_upload_lands_on_the_document_page_with_its_attachment(client, world, engine):
    csrf = log_in(client, world)
    r = post_upload(client, csrf, FIELDS, pdf=make_pdf(), attachments=[("phu-luc.txt", b"Danh sach")])
    assert r.status_code == 303, r.get_data(as_text=True)
    with session_scope(engine) as s:
        (doc,) = s.exec(sa.select(Document)).scalars().all()
        names = s.exec(sa.select(Attachment.name)).scalars().all()
    assert r.headers["Location"] == f"/documents/{doc.id}"
    assert (doc.subject, doc.urgency, str(doc.due_on)) == (FIELDS["subject"], "urgent", "2026-12-15")
    assert names == ["phu-luc.txt"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert FIELDS["subject"] in page and "phu-luc.txt" in page and "15/12/2026" in page
    listed = client.get("/outgoing?q=giao+ban").get_data(as_text=True)
    assert FIELDS["subject"] in listed
    assert FIELDS["subject"] not in client.get("/outgoing?q=ngân+sách").get_data(as_text=True)


@pytest.mark.parametrize("change, field, status", [
    ({"subject": ""}, "subject", 422),
    ({"urgency": "sometime"}, "urgency", 422),
    ({"issued_on": "2026-12-10", "due_on": "2026-12-01"}, "due_on", 422),
    ({"issued_on": "31/12/2026"}, "issued_on", 422),
])
def test_a_refused_upload_keeps_what_was_typed_and_stores_nothing(app, client, world, engine, change, field, status):
    csrf = log_in(client, world)
    before = snapshot(engine, app)
    r = post_upload(client, csrf, {**FIELDS, **change}, pdf=make_pdf())
    html = r.get_data(as_text=True)
    assert r.status_code == status, html
    assert f'id="{field}-error"' in html or 'class="error"' in html
    assert "V/v họp giao ban tháng 12" in html or field == "subject"
    assert 'value="UBND-VP"' in html and 'value="Trần Văn Ánh"' in html  # the rest as typed
    assert snapshot(engine, app) == before


@pytest.mark.parametrize("pdf, status", [(None, 422), (b"not a pdf at all", 415)])
def test_a_missing_or_wrong_file_is_refused_on_the_form(app, client, world, engine, pdf, status):
    csrf = log_in(client, world)
    before = snapshot(engine, app)
    r = post_upload(client, csrf, FIELDS, pdf=pdf)
    assert r.status_code == status and 'value="UBND-VP"' in r.get_data(as_text=True)
    assert snapshot(engine, app) == before


def test_two_attachments_of_one_name_store_nothing(app, client, world, engine):
    csrf = log_in(client, world)
    before = snapshot(engine, app)
    r = post_upload(client, csrf, FIELDS, pdf=make_pdf(), attachments=[("a.txt", b"1"), ("A.txt", b"2")])
    assert r.status_code == 422
    assert snapshot(engine, app) == before


def test_only_a_clerk_uploads(client, world):
    log_in(client, world, "signer")
    assert client.get("/outgoing/new", headers=BROWSER).status_code == 403
    assert client.get("/outgoing", headers=BROWSER).status_code == 200


@pytest.mark.parametrize("attachment", [("trong.txt", b""), ("hong.pdf", b"%PDF-1.7\nkhong phai PDF")])
def test_an_attachment_refused_refuses_the_upload_before_the_document_exists(app, client, world, engine, attachment):
    csrf = log_in(client, world)
    before = snapshot(engine, app)
    r = post_upload(client, csrf, FIELDS, pdf=make_pdf(), attachments=[("phu-luc.txt", b"Danh sach"), attachment])
    assert r.status_code == 422 and attachment[0] in r.get_data(as_text=True)
    assert snapshot(engine, app) == before  # no draft left behind to which the page cannot add it again


def test_another_agencys_documents_are_neither_listed_nor_shown(app, client, world, engine):
    with session_scope(engine, write=True) as s:
        theirs = store_document(s, app.extensions["lienthong.blobs"], world, "other_clerk",
                                subject="Văn bản riêng của tỉnh bên")
    log_in(client, world)
    assert "Văn bản riêng của tỉnh bên" not in client.get("/outgoing").get_data(as_text=True)
    r = client.get(f"/documents/{theirs}", headers=BROWSER)
    assert r.status_code == 404 and "Văn bản riêng của tỉnh bên" not in r.get_data(as_text=True)


def test_a_logged_out_visitor_is_sent_to_the_login_page(client, world):
    assert client.get("/outgoing/new").headers["Location"] == "/login?next=/outgoing/new"
    assert client.post("/outgoing/new", data={}).status_code == 400  # no CSRF token: refused first
    assert csrf_of(client.get("/login").get_data(as_text=True))


def test_the_document_page_shows_previews_drawn_once_and_only_to_its_readers(app, client, world, engine):
    with session_scope(engine, write=True) as s:
        doc = store_document(s, app.extensions["lienthong.blobs"], world, "clerk", pdf=make_pdf(pages=2))
    log_in(client, world)
    html = client.get(f"/documents/{doc}").get_data(as_text=True)
    first = f"/documents/{doc}/revisions/1/pages/1.png"
    assert first in html and f"/documents/{doc}/revisions/1/pages/2.png" in html and "pages/3.png" not in html
    r = client.get(first)
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data.startswith(b"\x89PNG")
    cached = list((app.extensions["lienthong.settings"].data_dir / "previews").rglob("1.png"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    assert client.get(first).data == r.data and cached[0].stat().st_mtime_ns == mtime  # drawn once
    assert client.get(f"/documents/{doc}/revisions/1/pages/3.png").status_code == 404
    assert client.get(f"/documents/{doc}/revisions/9/pages/1.png").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_of(html)})
    log_in(client, world, "other_clerk")
    assert client.get(first, headers=BROWSER).status_code == 404
