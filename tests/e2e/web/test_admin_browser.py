"""Quản trị in a real browser: an administrator creates a user with its roles, then a
token for it, shown once (gone when the list is fetched again) and working against the API."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.web.conftest import at_both_sizes

pytestmark = pytest.mark.e2e


def test_an_admin_creates_a_user_and_a_token(web, page):
    web.login(page, "admin")
    page.get_by_role("link", name="Quản trị").click()
    page.get_by_label("Tên đăng nhập", exact=True).fill("lanhdao.moi")
    page.get_by_label("Họ và tên").fill("Đỗ Văn Lãnh")
    page.get_by_label("Chức vụ").fill("Phó Chủ tịch")
    form = page.locator("#new-user")
    form.get_by_label("người ký (lãnh đạo)").check()
    page.get_by_label("Mật khẩu").fill("mật-khẩu-lãnh-đạo-1")
    page.get_by_role("button", name="Tạo người dùng").click()
    assert "đã tạo người dùng lanhdao.moi" in page.get_by_role("status").inner_text().lower()
    row = page.locator("#user-lanhdao\\.moi")
    assert row.get_by_label("người ký (lãnh đạo)").is_checked() and not row.get_by_label("văn thư").is_checked()
    at_both_sizes(page, "admin-users")

    page.get_by_role("link", name="Token API").click()
    page.get_by_label("Cho người dùng").select_option("lanhdao.moi")
    page.get_by_label("Tên (dùng để làm gì)").fill("ký từ xa")
    page.get_by_role("button", name="Tạo token").click()
    secret = page.locator("#new-token").inner_text()
    assert len(secret) > 30
    r = requests.get(f"{web.url}/api/v1/documents", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert r.status_code == 200
    at_both_sizes(page, "admin-token-shown")
    page.get_by_role("link", name="Token API").click()  # the list, fetched again
    assert page.locator("#new-token").count() == 0 and secret not in page.content()
    assert page.get_by_role("cell", name="ký từ xa").is_visible()


def test_the_agencies_and_credentials_pages_are_usable_at_both_sizes(web, page):
    web.login(page, "admin")
    page.get_by_role("link", name="Quản trị").click()
    page.get_by_role("link", name="Cơ quan", exact=True).click()
    assert page.get_by_role("cell", name=web.world.province, exact=True).first.is_visible()
    at_both_sizes(page, "admin-agencies")
    page.get_by_role("link", name="Chứng thư ký số").click()
    assert page.get_by_label("Ảnh chữ ký hoặc con dấu (PNG, nền trong suốt)").is_visible()
    at_both_sizes(page, "admin-credentials")
