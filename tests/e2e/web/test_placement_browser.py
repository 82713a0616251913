"""The official sees where the stamp will go: a click on the preview marks the place and
puts the page and the point (PDF points, from the lower-left corner) into the sign form."""
from __future__ import annotations

import json

import pytest

from tests.e2e.web.conftest import at_both_sizes
from tests.exchange_fixtures import DOCUMENT_METADATA, make_pdf

pytestmark = pytest.mark.e2e


def test_a_click_on_the_preview_places_the_stamp(web, page):
    r = web.api("POST", "/api/v1/documents", "clerk", files={"file": ("a.pdf", make_pdf(pages=2), "application/pdf")},
                data={"metadata": json.dumps({**DOCUMENT_METADATA, "subject": "Tờ trình chờ ký"})})
    assert r.status_code == 201, r.text
    web.login(page, "signer")
    page.goto(f"{web.url}/documents/{r.json()['id']}")
    first = page.get_by_role("img", name="Trang 1")
    first.scroll_into_view_if_needed()
    assert first.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # drawn and loaded
    box = first.bounding_box()
    first.click(position={"x": box["width"] / 2, "y": box["height"] * 0.75})
    form = page.locator("#sign-form")
    assert form.locator("input[name=stamp_page]").input_value() == "1"
    x = float(form.locator("input[name=stamp_x]").input_value())
    y = float(form.locator("input[name=stamp_y]").input_value())
    width, height = page.evaluate("[document.querySelector('img[data-page=\"1\"]').naturalWidth, "
                                  "document.querySelector('img[data-page=\"1\"]').naturalHeight]")
    assert abs(x - width * 72 / 60 / 2) < 3 and abs(y - height * 72 / 60 * 0.25) < 3  # the centre, a quarter up
    assert page.locator(".stamp-marker").is_visible()
    assert "trang 1" in page.locator("#stamp-place").inner_text()
    at_both_sizes(page, "document-placement")
