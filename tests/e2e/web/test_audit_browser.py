"""Nhật ký in a real browser: an auditor searches the trail and checks the chain, the
result said in words."""
from __future__ import annotations

import pytest

from tests.e2e.web.conftest import at_both_sizes

pytestmark = pytest.mark.e2e


def test_an_auditor_searches_the_trail_and_checks_the_chain(web, page):
    web.login(page, "auditor")
    page.get_by_role("link", name="Nhật ký").click()
    page.get_by_label("Tìm kiếm (người dùng, thao tác, đối tượng)").fill("user.create")
    page.get_by_role("button", name="Tìm kiếm").click()
    assert page.get_by_role("cell", name="user.create").first.is_visible()
    page.get_by_role("button", name="Kiểm tra chuỗi nhật ký").click()
    assert "Chuỗi nhật ký nguyên vẹn" in page.get_by_role("status").inner_text()
    at_both_sizes(page, "audit")
