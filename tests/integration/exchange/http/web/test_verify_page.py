"""``/verify`` through Flask's test client: a tampered PDF is red with the signed revision
beside the current file and the changed area outlined; the report downloads as a PDF; bad
input (no file, empty, not a PDF) is a form error in words, never a 500; the page is for
clerks and auditors only, and a form posted without its CSRF token is refused."""
from __future__ import annotations

import base64
import io
import re

import pytest

from exchange.services import verify_compare
from tests import verify_fixtures as vf
from tests.integration.exchange.http.web.test_foundation import BROWSER, log_in, world  # noqa: F401


@pytest.fixture(scope="module")
def signed() -> bytes:
    return vf.sign(vf.make_pdf())


def _post(client, csrf: str | None, data: bytes | None, name: str = "công văn.pdf", headers=None):  # type: ignore[no-untyped-def]
    form: dict = {} if csrf is None else {"csrf_token": csrf}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    return client.post("/verify", data=form, content_type="multipart/form-data", headers=headers or BROWSER)


def test_a_tampered_pdf_is_red_with_the_changed_area_outlined(client, world, signed):
    csrf = log_in(client, world, "auditor")
    r = _post(client, csrf, vf.append_drawing(signed))
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "verdict-red" in html and "Tài liệu không hợp lệ" in html
    assert "<details>" in html and "Thông tin kỹ thuật" in html
    boxes = re.findall(r'class="changed-area" data-box="([^"]+)"', html)
    assert len(boxes) == 1
    left, top, width, height = map(float, boxes[0].split(","))
    assert 5 < left < 20 and 15 < top < 30 and width > 20 and height < 10  # the drawn line at (72, 600) pt
    assert html.count('src="data:image/png;base64,') == 2  # signed page beside current page
    pdf = re.search(r'href="data:application/pdf;base64,([^"]+)" download="([^"]+)"', html)
    assert pdf and base64.b64decode(pdf.group(1)).startswith(b"%PDF-") and pdf.group(2).endswith(".pdf")


def test_an_untouched_signed_pdf_shows_no_comparison_and_english_on_switch(client, world, signed):
    csrf = log_in(client, world, "clerk")
    client.post("/language", data={"lang": "en", "next": "/verify", "csrf_token": csrf})
    html = _post(client, csrf, signed).get_data(as_text=True)
    assert "changed-area" not in html and "verdict-red" not in html
    assert "Technical details" in html and "Chi tiết kỹ thuật" not in html


def test_bytes_changed_in_place_are_red_and_said_without_a_comparison(client, world, signed):
    csrf = log_in(client, world, "auditor")
    html = _post(client, csrf, vf.flip_byte(signed)).get_data(as_text=True)
    assert "verdict-red" in html and "bytes-changed" in html and "changed-area" not in html
    assert "verdict-red" not in _post(client, csrf, signed).get_data(as_text=True)


def test_a_file_over_the_upload_limit_is_refused_in_words(app, client, world):
    csrf = log_in(client, world, "clerk")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    r = _post(client, csrf, b"%PDF-1.7\n" + b"0" * 100 * 1024)
    assert r.status_code == 413 and "verdict-" not in r.get_data(as_text=True)
    assert r.mimetype == "text/html"


def test_bad_input_is_a_form_error_never_a_500(client, world):
    csrf = log_in(client, world, "auditor")
    cases = {"no file": (None, 422, "bắt buộc"), "empty": (b"", 422, "rỗng"),
             "not a PDF": (b"hello, not a pdf at all", 415, "cần tệp pdf")}
    for label, (data, status, words) in cases.items():
        r = _post(client, csrf, data)
        html = r.get_data(as_text=True)
        assert r.status_code == status, label
        assert words in html.lower() and 'name="file"' in html and "verdict-" not in html, label


def test_only_clerks_and_auditors_and_never_without_the_csrf_token(client, world, signed):
    assert client.get("/verify").status_code == 302  # logged out: to the login page
    csrf = log_in(client, world, "admin")
    assert client.get("/verify", headers=BROWSER).status_code == 403
    assert _post(client, csrf, signed).status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    log_in(client, world, "auditor")
    r = _post(client, None, signed)
    assert r.status_code == 400 and "verdict-" not in r.get_data(as_text=True)


def test_changed_boxes_group_nearby_pixels_and_keep_apart_distant_ones():
    from PIL import Image, ImageDraw

    before = Image.new("RGB", (300, 400), "white")
    after = before.copy()
    draw = ImageDraw.Draw(after)
    draw.rectangle((30, 40, 60, 50), fill="black")
    draw.rectangle((63, 42, 80, 48), fill="black")  # 3 px away: the same change
    draw.rectangle((200, 300, 220, 320), fill="black")
    boxes = verify_compare.changed_boxes(before, after)
    assert len(boxes) == 2
    assert verify_compare.changed_boxes(before, before.copy()) == ()


def test_the_comparison_keeps_to_one_time_budget_for_all_its_pages(signed, monkeypatch):
    tampered = vf.append_drawing(signed)
    assert verify_compare.compare(tampered) is not None
    monkeypatch.setattr(verify_compare, "COMPARE_BUDGET_S", 0.0)  # spent before the first page
    assert verify_compare.compare(tampered) is None  # the report alone, not a request held for minutes
