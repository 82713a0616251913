"""Stamp geometry, time format and the shipped font's coverage (no I/O beyond reading the font)."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

import pytest
from fontTools.ttLib import TTFont

from errors import Unprocessable
from signing import stamps

SAMPLE = "Nguyễn Thị Lấp Lánh Ánh – Ủy ban nhân dân tỉnh Vĩnh Long"
A4 = (0.0, 0.0, 595.28, 841.89)


def test_time_is_iso_8601_in_vietnam_time() -> None:
    assert stamps.iso_time(datetime(2026, 1, 2, 17, 4, 5, 123, tzinfo=timezone.utc)) == "2026-01-03T00:04:05+07:00"


def test_shipped_font_is_a_small_subset_covering_all_vietnamese_letters() -> None:
    assert stamps.FONT_PATH.stat().st_size < 120_000
    cmap = TTFont(stamps.FONT_PATH).getBestCmap()
    vietnamese = "ăâđêôơưĂÂĐÊÔƠƯ" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))
    missing = [ch for ch in SAMPLE + vietnamese + "0123456789/:+-" if not ch.isspace() and ord(ch) not in cmap]
    assert missing == []
    # precomposed (NFC) forms are what we draw; keep the combining marks for NFD input too
    assert all(ord(ch) in cmap for ch in unicodedata.normalize("NFD", SAMPLE) if not ch.isspace())


def test_default_person_box_is_bottom_right_of_the_page() -> None:
    x1, y1, x2, y2 = stamps.default_person_box(A4)
    assert x2 > A4[2] * 0.85 and x1 > A4[2] / 2 and y1 < 150 and y2 > y1


def test_seal_is_real_size_and_covers_a_third_of_the_signature_image_on_its_left() -> None:
    person = stamps.default_person_box(A4)
    ix1, iy1, ix2, iy2 = stamps.person_image_box(person)
    field = stamps.seal_box(person, A4)
    cx1, cy1, cx2, cy2 = stamps.seal_circle(field)
    assert cy2 - cy1 == pytest.approx(38 * 72 / 25.4) == pytest.approx(cx2 - cx1)  # 38 mm, round
    assert cx1 < ix1 < cx2  # it overlaps the image from the left
    assert (cx2 - ix1) / (ix2 - ix1) == pytest.approx(1 / 3)
    assert (cy1 + cy2) / 2 == pytest.approx((iy1 + iy2) / 2)  # centred on the image vertically
    # the agency name and time go right under the seal, in its column: not beside it
    assert field[1] == pytest.approx(cy1 - stamps.SEAL_TEXT_HEIGHT)
    assert field[2] - field[0] == pytest.approx(cx2 - cx1 + 2 * stamps.SEAL_OVERHANG)
    assert field[0] >= A4[0]


def test_seal_box_stays_on_the_page_near_the_left_edge() -> None:
    sx1, _, sx2, _ = stamps.seal_box((20, 60, 250, 170), A4)
    assert sx1 >= A4[0] + 5 and sx2 - sx1 == pytest.approx(stamps.SEAL_SIZE + 2 * stamps.SEAL_OVERHANG)


def test_appearance_rejects_degenerate_boxes() -> None:
    for box in [(100, 100, 90, 200), (0, 0, 10, 10), ("a", 1, 2, 3), (1, 2, 3)]:
        with pytest.raises(Unprocessable):
            stamps.Appearance(0, box)  # type: ignore[arg-type]
    assert stamps.Appearance(-1, (10, 10, 200, 100)).page == -1
