"""The whole day of the issue's story in one real browser against the live server: the
province clerk uploads a letter with an attachment; the leader signs it, placing the stamp by
a click on the preview (a real signature, from the server's dev PKI); the clerk numbers it,
seals it and sends it to two communes; one commune's clerk sees it arrive on /incoming without
a reload, registers it (03), assigns it (04) and starts processing it (05); the other commune's clerk returns it
with a reason (02); both registers list it and print. Screenshots at every step (and the
README's document page and inbox); the printable signing report fits at 375 px."""
from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.web.conftest import (at_both_sizes, check_accessible, check_watch, guarded_context, readme_screenshot, screenshot,
                                    watched_page)
from tests.exchange_fixtures import COMMUNE_NAMES, make_pdf

pytestmark = pytest.mark.e2e
ARRIVAL_S = 40  # one long-poll (25 s) and the redraw, at worst
SUBJECT = "V/v tổ chức trực bão cuối năm"
FIRST, SECOND = "000.01.01.H62", "000.05.02.H62"  # Xã An Bình, Xã Long Phước (not the dispatch test's)


def _switch(web, page, who: str) -> None:
    page.context.clear_cookies()
    web.login(page, who)


def _print_link_works(page) -> None:
    href = page.get_by_role("link", name="In sổ (PDF)").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    r = requests.get(page.url.split("/registers")[0] + href, cookies=cookies, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/pdf")
    assert r.content.startswith(b"%PDF")


def test_the_whole_day_in_the_browser(web, browser, page, watch, tmp_path):
    web.issue_signing_credentials("signer", "seal")
    web.add_clerk("an_binh", "vanthu.anbinh", FIRST, "Lý Thị Bình")
    web.add_clerk("long_phuoc", "vanthu.longphuoc", SECOND, "Mai Văn Phước")
    letter, annex = tmp_path / "cong-van.pdf", tmp_path / "phu-luc.txt"
    letter.write_bytes(make_pdf("Công văn về việc tổ chức trực bão", pages=2))
    annex.write_text("Danh sách cán bộ trực")

    # 1. the province clerk uploads the letter with its attachment
    web.login(page, "clerk")
    page.get_by_role("link", name="Văn bản đi", exact=True).click()
    page.get_by_role("link", name="Tải lên văn bản").click()
    page.get_by_label("Loại văn bản").fill("Công văn")
    page.get_by_label("Ký hiệu").fill("UBND-VP")
    page.get_by_label("Trích yếu").fill(SUBJECT)
    page.get_by_label("Độ khẩn").select_option("urgent")
    page.get_by_label("Họ tên người ký").fill("Trần Văn Ánh")
    page.get_by_label("Tệp văn bản (PDF)").set_input_files(str(letter))
    page.get_by_label("Phụ lục").set_input_files(str(annex))
    page.get_by_role("button", name="Tải lên", exact=True).click()
    page.wait_for_url(re.compile(rf"{web.url}/documents/\d+$"))
    document_url = page.url
    assert "phu-luc.txt" in page.locator("main").inner_text()
    screenshot(page, "day-1-uploaded")

    # 2. the leader signs, the stamp placed by a click on the first page's preview
    _switch(web, page, "signer")
    page.goto(document_url)
    first = page.get_by_role("img", name="Trang 1")
    first.scroll_into_view_if_needed()
    assert first.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    box = first.bounding_box()
    first.click(position={"x": box["width"] * 0.7, "y": box["height"] * 0.8})
    assert page.locator("#sign-form input[name=stamp_page]").input_value() == "1"
    screenshot(page, "day-2-stamp-placed")
    page.get_by_role("button", name="Ký với tư cách người có thẩm quyền").click()
    assert page.get_by_role("status").filter(has_text="Văn bản đã được ký").is_visible()
    assert "chữ ký cá nhân" in page.locator("main").inner_text().lower()
    screenshot(page, "day-2-signed")

    # 3. the clerk numbers, seals and sends to two communes, while a commune clerk watches /incoming
    commune_ctx = guarded_context(browser, watch)
    try:
        commune = watched_page(commune_ctx, watch)
        web.login(commune, "an_binh")
        commune.goto(f"{web.url}/incoming")
        navigations: list[str] = []
        commune.on("framenavigated", lambda frame: navigations.append(frame.url))

        _switch(web, page, "clerk")
        page.goto(document_url)
        page.get_by_role("button", name="Cấp số văn bản đi").click()
        assert page.get_by_role("heading", level=1).filter(has_text="Số").is_visible()
        page.get_by_role("button", name="Đóng dấu của cơ quan").click()
        assert page.locator("main").inner_text().lower().count("dấu") >= 1
        screenshot(page, "day-3-sealed")
        page.get_by_label(COMMUNE_NAMES[FIRST]).check()
        page.get_by_label(COMMUNE_NAMES[SECOND]).check()
        page.get_by_role("button", name="Gửi văn bản", exact=True).click()
        assert page.get_by_role("status").filter(has_text="Văn bản đã được gửi").is_visible()
        table = page.locator("table").last.inner_text()
        assert FIRST in table and SECOND in table
        check_accessible(page)
        screenshot(page, "day-3-sent")
        readme_screenshot(page, "document-page")

        # 4. the commune clerk sees it arrive without reloading, registers it, starts processing
        commune.get_by_text(SUBJECT).wait_for(timeout=ARRIVAL_S * 1000)
        assert navigations == []
        screenshot(commune, "day-4-arrived")
        readme_screenshot(commune, "incoming")
        row = commune.locator("tr", has_text=SUBJECT)
        row.get_by_role("button", name="Vào sổ (03)").click()
        row = commune.locator("tr", has_text=SUBJECT)
        assert "đã vào sổ (03)" in row.inner_text()
        row.get_by_role("button", name="Giao xử lý (04)").click()  # the lifecycle: 03, 04, then 05
        commune.locator("tr", has_text=SUBJECT).get_by_role("button", name="Bắt đầu xử lý (05)").click()
        assert "đang xử lý (05)" in commune.locator("tr", has_text=SUBJECT).inner_text()
        screenshot(commune, "day-4-processing")
        commune.get_by_role("link", name="Sổ văn bản đến").click()
        assert commune.locator("tr", has_text=SUBJECT).count() == 1
        _print_link_works(commune)
        screenshot(commune, "day-4-register-incoming")
    finally:
        commune_ctx.close()
    check_watch(watch)

    # 5. the other commune's clerk returns it with a reason
    _switch(web, page, "long_phuoc")
    page.goto(f"{web.url}/incoming")
    row = page.locator("tr", has_text=SUBJECT)
    row.get_by_label("Lý do trả lại").fill("Không thuộc thẩm quyền của xã")
    row.get_by_role("button", name="Trả lại").click()
    assert "đã trả lại (02)" in page.locator("tr", has_text=SUBJECT).inner_text()
    screenshot(page, "day-5-returned")

    # 6. the province's outgoing register lists it and prints; its page shows both answers
    _switch(web, page, "clerk")
    page.goto(f"{web.url}/registers/outgoing")
    assert page.locator("tr", has_text=SUBJECT).count() == 1
    _print_link_works(page)
    screenshot(page, "day-6-register-outgoing")
    page.goto(document_url)
    table = page.locator("table").last.inner_text()
    assert "đang xử lý (05)" in table and "đã trả lại (02)" in table
    screenshot(page, "day-6-statuses")
    page.get_by_role("link", name="Kiểm tra chữ ký (báo cáo đầy đủ)").click()  # the printable report
    report = page.locator("body").inner_text()
    assert "Trần Văn Ánh" in report and "Kết quả kiểm tra chữ ký số" in report  # the pages' language, not the browser's
    at_both_sizes(page, "day-6-signing-report")  # no sideways scrolling at 375 px either
