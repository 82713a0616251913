"""Kiểm tra chữ ký in a real browser: an auditor drops a PDF changed after it was signed
and sees it red, in words, with the signed version beside the current one and the changed
area outlined over the new text; the details open on click; the report downloads as a PDF."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import verify_fixtures as vf
from tests.e2e.web.conftest import at_both_sizes

pytestmark = pytest.mark.e2e


def test_an_auditor_verifies_a_tampered_pdf_and_sees_it_red_with_the_changed_area_outlined(web, page, tmp_path):
    tampered = tmp_path / "cong-van-da-sua.pdf"
    with ThreadPoolExecutor(1) as pool:  # pyHanko runs its own event loop; Playwright's runs in this thread
        tampered.write_bytes(pool.submit(lambda: vf.append_drawing(vf.sign(vf.make_pdf()))).result())
    web.login(page, "auditor")
    page.get_by_role("link", name="Kiểm tra chữ ký").click()
    at_both_sizes(page, "verify-form")
    page.get_by_label("Tệp PDF cần kiểm tra").set_input_files(str(tampered))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    verdict = page.locator(".verify-report > .verdict")
    assert "Tài liệu không hợp lệ" in verdict.inner_text()
    colour = verdict.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(164, 22, 26)", colour  # --red

    area = page.locator(".changed-area")
    assert area.count() == 1 and area.is_visible()
    current = page.locator(".page-frame img").bounding_box()
    box = area.bounding_box()
    assert box["width"] > 20 and box["height"] > 5
    assert current["x"] <= box["x"] and box["x"] + box["width"] <= current["x"] + current["width"] + 1
    assert current["y"] <= box["y"] and box["y"] + box["height"] <= current["y"] + current["height"] + 1
    assert area.evaluate("e => getComputedStyle(e).borderTopColor") == "rgb(164, 22, 26)"
    assert page.locator(".comparison figure img").count() == 2  # signed beside current

    details = page.locator(".signature details").first
    assert not details.locator("dl").is_visible()
    details.locator("summary").click()
    assert details.locator("dl").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải báo cáo (PDF)").click()
    saved = tmp_path / "bao-cao.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    at_both_sizes(page, "verify-report")
