"""The API speaks the request's language: Vietnamese unless ``Accept-Language`` asks for
English (an unsupported language gets Vietnamese too), one language per answer."""
from __future__ import annotations

import io

import pytest

from app import create_app
from exchange.http.errors import LANGUAGE_COOKIE
from tests.db import session_scope
from tests.exchange_fixtures import DOCUMENT_METADATA, build_world, make_pdf, upload_via_api

VI = {"Accept-Language": "vi"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def world(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return build_world(s)


@pytest.mark.parametrize("headers, message", [
    ({}, "cần đăng nhập hoặc token hợp lệ"),
    (VI, "cần đăng nhập hoặc token hợp lệ"),
    (EN, "valid credentials required"),
    ({"Accept-Language": "fr-FR, de;q=0.8"}, "cần đăng nhập hoặc token hợp lệ"),
    ({"Accept-Language": "fr, en;q=0.5"}, "valid credentials required"),
])
def test_a_401_follows_accept_language(client, headers, message):
    r = client.get("/api/v1/documents", headers=headers)
    assert r.status_code == 401
    assert r.get_json() == {"error": {"code": "unauthorized", "message": message}}


def test_a_422_with_fields_is_in_one_language(client, world):
    body = {"profile": "person", "page": 0, "box": [300, 50, 500, 120]}
    vi = client.post("/api/v1/documents/1/signatures", json=body, headers=world.headers("signer")).get_json()
    en = client.post("/api/v1/documents/1/signatures", json=body, headers={**world.headers("signer"), **EN}).get_json()
    assert vi["error"] == {"code": "invalid", "message": "vị trí chữ ký không hợp lệ",
                           "fields": {"page": "trang được đánh số từ 1 (hoặc -1 cho trang cuối)"}}
    assert en["error"] == {"code": "invalid", "message": "invalid stamp position",
                           "fields": {"page": "pages are numbered from 1 (or -1 for the last)"}}


def test_a_service_refusal_with_fields_and_values(client, world):
    metadata = {**DOCUMENT_METADATA, "issued_on": "2026-11-20", "due_on": "2026-11-01"}
    vi = upload_via_api(client, world.headers("clerk"), make_pdf(), metadata)
    en = upload_via_api(client, {**world.headers("clerk"), **EN}, make_pdf(), metadata)
    assert vi.status_code == en.status_code == 422
    assert vi.json["error"]["message"] == "hạn xử lý trước ngày ban hành"
    assert vi.json["error"]["fields"] == {"metadata.due_on": "phải sau ngày ban hành"}
    assert en.json["error"]["message"] == "due date before issue date"
    assert en.json["error"]["fields"] == {"metadata.due_on": "must not precede issued_on"}
    missing = client.get("/api/v1/documents/999999/content?revision=1", headers={**world.headers("clerk"), **EN})
    assert missing.status_code == 404 and missing.get_json()["error"]["message"] == "no such document"


def test_a_413_names_the_limit_in_the_readers_language(settings, world):
    app = create_app(settings.with_changes(max_upload_mb=1))
    try:
        client = app.test_client()
        big = make_pdf() + b"%" * (1024 * 1024 + 1)
        answers = [upload_via_api(client, {**world.headers("clerk"), **lang}, big, DOCUMENT_METADATA)
                   for lang in (VI, EN)]
    finally:
        app.extensions["lienthong.services"].close()
    assert [a.status_code for a in answers] == [413, 413]
    assert [a.json["error"]["message"] for a in answers] == ["Tệp lớn quá 1 MB", "the upload is larger than 1 MB"]


def test_errors_of_no_code_of_ours_are_translated_too(client):
    vi, en = (client.get("/api/v1/nothing-here", headers=h).get_json()["error"]["message"] for h in ({}, EN))
    assert (vi, en) == ("Không tìm thấy nội dung tại địa chỉ này", "nothing is found at this address")
    page = client.get("/nothing-here", headers={"Accept": "text/html", **EN})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert "nothing is found at this address" in page.get_data(as_text=True)


def test_the_verification_report_follows_lang_then_accept_language(client, world):
    def verify(query: str = "", **headers: str):  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/verify{query}", headers={**world.headers("clerk"), **headers},
                           data={"file": (io.BytesIO(make_pdf()), "a.pdf")}, content_type="multipart/form-data")

    report = verify().get_json()
    assert report["indication"] == "NO_SIGNATURE"
    # the JSON carries both languages, under the names other programs read
    assert report["messages"] == {"vi": ["Tài liệu không có chữ ký số"],
                                  "en": ["The document carries no digital signature"]}
    vi = verify("?format=html").get_data(as_text=True)
    en = verify("?format=html", **{"Accept-Language": "en"}).get_data(as_text=True)
    chosen = verify("?format=html&lang=vi", **{"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="vi"' in vi and "Kết quả kiểm tra chữ ký số" in vi and "Tài liệu không có chữ ký số" in vi
    assert 'lang="en"' in en and "Digital signature verification report" in en
    assert "Kết quả kiểm tra chữ ký số" not in en
    assert 'lang="vi"' in chosen


def test_the_pages_session_speaks_the_pages_language(client, world):
    """A report or a register's print opened from a page (the session's cookie) is in the
    pages' language — Vietnamese unless switched — whatever the browser's Accept-Language;
    a token's call still follows Accept-Language."""
    body = {"profile": "person", "page": 0, "box": [300, 50, 500, 120]}
    token = client.post("/api/v1/documents/1/signatures", json=body, headers={**world.headers("signer"), **EN})
    assert token.get_json()["error"]["message"] == "invalid stamp position"
    login = client.post("/api/v1/session", json={"username": "lanhdao.tinh", "password": world.password}, headers=EN)
    assert login.status_code == 200
    cookie = client.post("/api/v1/documents/1/signatures", json=body,
                         headers={**EN, "X-CSRFToken": login.get_json()["csrf_token"]})
    assert cookie.get_json()["error"]["message"] == "vị trí chữ ký không hợp lệ"
    client.set_cookie(LANGUAGE_COOKIE, "en")  # switched to English on the pages
    switched = client.post("/api/v1/documents/1/signatures", json=body,
                           headers={**VI, "X-CSRFToken": login.get_json()["csrf_token"]})
    assert switched.get_json()["error"]["message"] == "invalid stamp position"
