"""Văn bản đến in a real browser: the clerk's inbox shows a hỏa tốc document arriving without
a reload, the clerk registers it (03) and returns another with a reason (02)."""
from __future__ import annotations

import re

import pytest

from tests.e2e.web.conftest import at_both_sizes

pytestmark = pytest.mark.e2e
ARRIVAL_S = 40  # one long-poll (25 s) and the redraw, at worst


def test_a_document_arrives_without_reloading_and_is_registered_or_returned(web, page):
    district = web.world.districts[0]
    web.send_sealed("Công văn gửi trước", "normal", [district])
    web.login(page, "district_clerk")
    page.get_by_role("link", name="Văn bản đến", exact=True).click()
    page.wait_for_url(f"{web.url}/incoming")
    assert page.get_by_text("Công văn gửi trước").is_visible()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    web.send_sealed("Công điện hỏa tốc về phòng chống bão", "flash", [district])
    page.get_by_text("Công điện hỏa tốc về phòng chống bão").wait_for(timeout=ARRIVAL_S * 1000)
    assert navigations == []  # drawn in place, no reload
    assert page.get_by_role("status").filter(has_text="Có văn bản mới đến").count() == 1
    row = page.locator("tr", has_text="Công điện hỏa tốc về phòng chống bão")
    assert "urgency-flash" in (row.get_attribute("class") or "")
    at_both_sizes(page, "incoming")
    row.get_by_role("button", name="Vào sổ (03)").click()
    row = page.locator("tr", has_text="Công điện hỏa tốc về phòng chống bão")
    assert re.search(r"đã vào sổ \(03\)", row.inner_text()) and "số đến 1" in row.inner_text()
    other = page.locator("tr", has_text="Công văn gửi trước")
    other.get_by_label("Lý do trả lại").fill("Không thuộc thẩm quyền giải quyết")
    other.get_by_role("button", name="Trả lại").click()
    assert "đã trả lại (02)" in page.locator("tr", has_text="Công văn gửi trước").inner_text()
    page.get_by_role("link", name="Sổ văn bản đến").click()
    assert page.locator("tr", has_text="Công điện hỏa tốc về phòng chống bão").count() == 1
    assert page.get_by_role("link", name="In sổ (PDF)").is_visible()
    at_both_sizes(page, "register-incoming")
