"""What a page is sent that it did not expect answers a 4xx or its default, never a 500: a
``next`` holding a newline, cursors and years in digits ``int()`` refuses ("²") or too long
for the database, a PDF no library can open on its document page, a recall answer that is
neither yes nor no. And the inbox's "More" link and live update, which went wrong with filters."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from exchange.models import Delivery, StatusEvent
from tests.exchange_fixtures import snapshot, upload_via_api
from tests.integration.exchange.http.web.test_foundation import BROWSER, csrf_of, log_in, world  # noqa: F401
from tests.integration.exchange.http.web.test_incoming import _send

# passes the upload's light check (header, startxref → an xref, a trailer), but is no PDF any
# library opens: its one object is not where the table says
UNOPENABLE_PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 1\n0000000000 65535 f \n"
                  b"trailer\n<< /Size 1 /Root 1 0 R >>\nstartxref\n45\n%%EOF\n")


@pytest.mark.parametrize("target", ["/a\nb", "/a\r\nSet-Cookie: x=1", "/a\tb", "/a\x00b"])
def test_a_next_page_with_a_control_character_goes_home(client, world, engine, target):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    switched = client.post("/language", data={"lang": "en", "next": target, "csrf_token": token})
    assert switched.status_code == 303 and switched.headers["Location"] in ("/", "http://localhost/")
    logged = client.post("/login", data={"username": world.people["clerk"].username, "password": world.password,
                                         "csrf_token": token, "next": target})
    assert logged.status_code == 303 and logged.headers["Location"] in ("/", "http://localhost/")


def test_a_vietnamese_next_page_is_kept(client, world):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    switched = client.post("/language", data={"lang": "en", "next": "/outgoing?q=công văn", "csrf_token": token})
    assert switched.status_code == 303 and "/outgoing" in switched.headers["Location"]


@pytest.mark.parametrize("value", ["%C2%B2", "99999999999999999999", "-1", "1e3"])
def test_cursors_and_years_that_are_not_plain_numbers(app, client, world, value):
    log_in(client, world, "clerk")
    for url in (f"/outgoing?after={value}", f"/registers/outgoing?year={value}", f"/registers/incoming?year={value}"):
        assert client.get(url, headers=BROWSER).status_code == 200, url  # read as "no cursor" / this year
    assert client.get(f"/incoming?status=accepted&after={value}", headers=BROWSER).status_code == 422
    assert client.get(f"/api/v1/inbox?after={value}", headers=world.headers("clerk")).status_code == 422
    auditor = app.test_client()
    log_in(auditor, world, "auditor")
    assert auditor.get(f"/audit?before={value}", headers=BROWSER).status_code == 200


def test_a_typed_number_in_superscript_digits_is_no_500(client, world):
    r = upload_via_api(client, world.headers("clerk"), metadata={"number": "²"})
    assert r.status_code in (201, 422), r.get_json()


def test_a_pdf_no_library_opens_shows_its_page_without_pictures(client, world):
    uploaded = upload_via_api(client, world.headers("clerk"), pdf=UNOPENABLE_PDF)
    assert uploaded.status_code == 201, uploaded.get_json()
    doc = uploaded.get_json()["id"]
    log_in(client, world, "clerk")
    for _ in range(2):  # and again: the failure is not remembered as "0 pages" for good, nor a 500
        page = client.get(f"/documents/{doc}", headers=BROWSER)
        assert page.status_code == 200
        assert "/pages/1.png" not in page.get_data(as_text=True)
    assert client.get(f"/documents/{doc}/revisions/1/pages/1.png", headers=BROWSER).status_code == 404


def test_page_images_are_private_to_the_browser(client, world):
    doc = upload_via_api(client, world.headers("clerk")).get_json()["id"]
    log_in(client, world, "clerk")
    image = client.get(f"/documents/{doc}/revisions/1/pages/1.png", headers=BROWSER)
    assert image.status_code == 200
    assert "private" in image.headers["Cache-Control"] and "public" not in image.headers["Cache-Control"]


def test_a_recall_answer_that_is_neither_yes_nor_no_changes_nothing(app, client, world, engine):
    district = world.districts[0]
    doc = _send(app, world, engine, "Văn bản sẽ thu hồi", "normal", [district])
    with engine.connect() as conn:
        delivery_id = conn.execute(sa.select(Delivery.id).where(Delivery.document_id == doc)).scalar_one()
    assert client.post(f"/api/v1/inbox/{delivery_id}/ack", headers=world.headers(district)).status_code == 200
    recall = client.post(f"/api/v1/documents/{doc}/recall", json={"reason": "gửi nhầm"}, headers=world.headers("clerk"))
    assert recall.status_code == 200 and recall.get_json()["deliveries"][0]["status"] == "recall_requested"
    csrf = log_in(client, world, "district_clerk")
    before = snapshot(engine, app)
    for answer in ({}, {"accept": "yes"}, {"accept": ""}):
        r = client.post(f"/incoming/{delivery_id}/recall-decision", data={"csrf_token": csrf, **answer},
                        headers=BROWSER)
        assert r.status_code == 303
    assert snapshot(engine, app) == before
    with engine.connect() as conn:
        assert not conn.execute(sa.select(StatusEvent.id).where(StatusEvent.delivery_id == delivery_id,
                                                                StatusEvent.status == "recall_refused")).all()


def test_a_filtered_inbox_waits_for_new_arrivals_and_pages_on(app, client, world, engine):
    district = world.districts[0]
    for n in range(53):
        _send(app, world, engine, f"Công văn hỏa tốc {n}", "flash", [district])
    log_in(client, world, "district_clerk")
    page = client.get("/incoming?urgency=flash", headers=BROWSER).get_data(as_text=True)
    assert re.search(r'data-last-seq="(\d+)"', page).group(1) == "53"  # not 0: nothing is "new" yet
    more = re.search(r'<a href="([^"]+)">(?:Xem tiếp|More)', page)
    assert more, "a full filtered page links to the next one"
    second = client.get(more.group(1).replace("&amp;", "&"), headers=BROWSER).get_data(as_text=True)
    third_link = re.search(r'<a href="([^"]+)">(?:Xem tiếp|More)', second)
    assert third_link is None  # 53 in all: the second page holds the last 3 and links no further
    assert second.count("Công văn hỏa tốc") == 3


def test_the_live_update_is_loaded_for_those_who_may_poll_the_inbox(app, client, world):
    log_in(client, world, "clerk")
    assert "incoming.js" in client.get("/incoming", headers=BROWSER).get_data(as_text=True)
    auditor = app.test_client()
    log_in(auditor, world, "auditor")
    page = auditor.get("/incoming", headers=BROWSER)
    assert page.status_code == 200 and "incoming.js" not in page.get_data(as_text=True)


def test_a_form_posted_after_the_session_ended_comes_back_to_a_page_not_to_its_action(client, world, engine):
    from exchange.models import WebSession, utcnow

    csrf = log_in(client, world, "clerk")
    with engine.begin() as conn:
        conn.execute(sa.update(WebSession.__table__).values(revoked_at=utcnow()))
    posted = client.post("/documents/1/sign", data={"csrf_token": csrf}, headers=BROWSER)
    assert posted.status_code == 302 and "/login" in posted.headers["Location"]
    assert "sign" not in posted.headers["Location"]  # a GET of the form's action would be a 405
    assert client.get("/outgoing", headers=BROWSER).headers["Location"].endswith("/login?next=/outgoing")


def test_no_room_for_the_previews_shows_the_page_without_pictures(client, world, monkeypatch):
    import errno

    from exchange.services import previews

    def full(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    doc = upload_via_api(client, world.headers("clerk")).get_json()["id"]
    log_in(client, world, "clerk")
    monkeypatch.setattr(previews, "_source", full)
    page = client.get(f"/documents/{doc}", headers=BROWSER)
    assert page.status_code == 200 and "/pages/1.png" not in page.get_data(as_text=True)
    assert client.get(f"/documents/{doc}/revisions/1/pages/1.png", headers=BROWSER).status_code == 404
