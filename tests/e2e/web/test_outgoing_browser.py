"""Văn bản đi in a real browser: a clerk uploads a letter with an attachment through the
form; a refusal keeps what was typed; the browser lands on the document's page."""
from __future__ import annotations

import re

import pytest

from tests.e2e.web.conftest import at_both_sizes
from tests.exchange_fixtures import make_pdf

pytestmark = pytest.mark.e2e


def test_a_clerk_uploads_a_letter_with_an_attachment(web, page, tmp_path):
    letter, annex = tmp_path / "cong-van.pdf", tmp_path / "phu-luc.txt"
    letter.write_bytes(make_pdf("Công văn về việc họp giao ban"))
    annex.write_text("Danh sách đại biểu")
    web.login(page, "clerk")
    page.get_by_role("link", name="Văn bản đi", exact=True).click()
    page.get_by_role("link", name="Tải lên văn bản").click()
    at_both_sizes(page, "outgoing-new")
    page.get_by_label("Loại văn bản").fill("Công văn")
    page.get_by_label("Ký hiệu").fill("UBND-VP")
    page.get_by_label("Độ khẩn").select_option("flash")
    page.get_by_label("Ngày ban hành").fill("2026-12-10")
    page.get_by_label("Hạn giải quyết").fill("2026-12-01")  # before the issue date: refused
    page.get_by_label("Họ tên người ký").fill("Trần Văn Ánh")
    page.get_by_label("Tệp văn bản (PDF)").set_input_files(str(letter))
    page.get_by_role("button", name="Tải lên", exact=True).click()
    assert page.get_by_role("alert").is_visible()
    page.get_by_label("Trích yếu").fill("V/v họp giao ban cuối năm")
    assert page.get_by_label("Ký hiệu").input_value() == "UBND-VP"  # kept
    assert page.get_by_label("Độ khẩn").input_value() == "flash"
    page.get_by_label("Hạn giải quyết").fill("2026-12-20")
    page.get_by_label("Tệp văn bản (PDF)").set_input_files(str(letter))
    page.get_by_label("Phụ lục").set_input_files(str(annex))
    page.get_by_role("button", name="Tải lên", exact=True).click()
    page.wait_for_url(re.compile(rf"{web.url}/documents/\d+$"))
    main = page.locator("main").inner_text()
    assert "V/v họp giao ban cuối năm" in main and "phu-luc.txt" in main and "20/12/2026" in main
    at_both_sizes(page, "document")
    page.get_by_role("link", name="Văn bản đi", exact=True).click()
    page.get_by_label("Tìm kiếm (số, ký hiệu, trích yếu)").fill("giao ban cuoi nam")
    page.get_by_role("button", name="Tìm kiếm").click()
    assert page.get_by_role("link", name="V/v họp giao ban cuối năm").is_visible()
    at_both_sizes(page, "outgoing")
