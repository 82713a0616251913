"""The pages' foundation in a real browser (Chromium) against a live gunicorn server: log in
(Vietnamese by default, English on switch), the start page, log out; the offline API docs;
a logged-out cookie, a form without its CSRF token and another agency's data."""
from __future__ import annotations

import pytest

from tests.e2e.web.conftest import at_both_sizes, screenshot
from tests.exchange_fixtures import DOCUMENT_METADATA, make_pdf

pytestmark = pytest.mark.e2e


def test_login_start_page_language_switch_and_logout(web, page):
    page.goto(f"{web.url}/")
    assert page.url == f"{web.url}/login?next=/"
    assert page.locator("html").get_attribute("lang") == "vi"
    at_both_sizes(page, "login")
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", name="Log in").is_visible()
    page.get_by_role("button", name="Tiếng Việt").click()
    web.login(page, "clerk")
    assert page.get_by_role("heading", name="Việc đang chờ bạn").is_visible()
    assert "vanthu.tinh" in page.locator("header").inner_text()
    at_both_sizes(page, "start")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{web.url}/login")


def test_a_logged_out_cookie_is_refused(web, page, context):
    web.login(page, "clerk")
    kept = context.cookies()
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{web.url}/login")
    context.clear_cookies()
    context.add_cookies(kept)  # the cookie of before the logout, replayed
    page.goto(f"{web.url}/")
    assert page.url.startswith(f"{web.url}/login")
    assert page.request.get(f"{web.url}/api/v1/agencies").status == 401


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(web, page):
    web.login(page, "clerk")
    before = web.api("GET", "/api/v1/documents", "clerk").json()
    forged = page.request.post(f"{web.url}/logout", form={})
    assert forged.status == 400
    upload = page.request.post(f"{web.url}/api/v1/documents", multipart={
        "file": {"name": "a.pdf", "mimeType": "application/pdf", "buffer": make_pdf()},
        "metadata": '{"subject": "giả mạo"}'})
    assert upload.status == 400 and upload.json()["error"]["code"] == "csrf_failed"
    assert web.api("GET", "/api/v1/documents", "clerk").json() == before
    page.goto(f"{web.url}/")
    assert page.get_by_role("heading", name="Việc đang chờ bạn").is_visible()  # still logged in


def test_another_agencys_documents_are_never_shown(web, page):
    import json

    for who, subject in (("clerk", "Dự thảo tỉnh nhà"), ("other_clerk", "Dự thảo tỉnh bên")):
        r = web.api("POST", "/api/v1/documents", who, files={"file": ("a.pdf", make_pdf(), "application/pdf")},
                    data={"metadata": json.dumps({**DOCUMENT_METADATA, "subject": subject})})
        assert r.status_code == 201, r.text
    web.login(page, "signer")
    body = page.locator("main").inner_text()
    assert "Dự thảo tỉnh nhà" in body and "Dự thảo tỉnh bên" not in body
    screenshot(page, "start-signer")


def test_the_api_docs_work_offline_under_the_csp(web, page):
    page.goto(f"{web.url}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=90000)  # the first spec is built on demand
    assert page.locator(".swagger-ui .title").first.inner_text().startswith("lienthong API")
    assert page.locator(".swagger-ui .opblock").count() > 20
    screenshot(page, "api-docs")
