"""The dispatch dialog in a real browser: the clerk finds communes by name (without
diacritics too), ticks two, sends, and sees each recipient's status on the document's page."""
from __future__ import annotations

import pytest

from tests.db import session_scope
from tests.e2e.web.conftest import at_both_sizes
from tests.exchange_fixtures import store_document

pytestmark = pytest.mark.e2e


def test_the_clerk_finds_two_communes_and_sends(web, page):
    with session_scope(web.services.engine, write=True) as session:
        doc = store_document(session, web.services.blobs, web.world, "clerk", state="sealed",
                             subject="Kế hoạch gửi hai xã")
    web.login(page, "clerk")
    page.goto(f"{web.url}/documents/{doc}")
    page.get_by_label("Tìm cơ quan (tên hoặc mã)").fill("hoa loc")
    assert page.get_by_label("Xã Hòa Lộc").is_visible() and not page.get_by_label("Xã An Bình").is_visible()
    page.get_by_label("Xã Hòa Lộc").check()
    page.get_by_label("Tìm cơ quan (tên hoặc mã)").fill("Tân Hội")
    page.get_by_label("Xã Tân Hội").check()
    assert page.get_by_label("Xã Hòa Lộc").is_visible()  # a ticked agency stays in sight
    at_both_sizes(page, "dispatch-dialog")
    page.get_by_role("button", name="Gửi văn bản", exact=True).click()
    assert page.get_by_role("status").filter(has_text="Văn bản đã được gửi").is_visible()
    table = page.locator("table").last.inner_text()
    assert "000.02.01.H62" in table and "000.04.02.H62" in table and "000.01.01.H62" not in table
    at_both_sizes(page, "document-sent")
    page.goto(f"{web.url}/api/v1/documents/{doc}/verification?format=html")  # its own <style>, allowed by hash
    assert page.locator("body").inner_text().strip()  # and no CSP refusal in the console (the fixture's check)


def test_a_clerk_checks_a_pdf_from_anywhere(web, page, tmp_path):
    from tests.exchange_fixtures import make_pdf

    pdf = tmp_path / "tu-ben-ngoai.pdf"
    pdf.write_bytes(make_pdf("Văn bản nhận qua thư điện tử"))
    web.login(page, "clerk")
    page.get_by_role("link", name="Kiểm tra chữ ký").click()
    at_both_sizes(page, "verify")
    page.get_by_label("Tệp PDF cần kiểm tra").set_input_files(str(pdf))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    page.wait_for_load_state()
    assert "chữ ký" in page.locator("body").inner_text().lower()
    at_both_sizes(page, "verify-unsigned-report")
