"""Placeholder images: transparent PNGs in the right colour, Vietnamese glyphs present in the fonts."""
from __future__ import annotations

import io

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from certs.images import (ImageError, check_png, script_font_path, seal_font_path, seal_placeholder,
                          signature_placeholder)

TEXT = "Nguyễn Thị Lấp Lánh Ánh – Ủy ban nhân dân tỉnh Vĩnh Long"


@pytest.mark.parametrize("font", [script_font_path, seal_font_path])
def test_fonts_have_every_vietnamese_glyph(font):
    cmap = TTFont(str(font())).getBestCmap()
    missing = {ch for ch in TEXT + TEXT.upper() if ch != " " and ord(ch) not in cmap}
    assert not missing


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.mode == "RGBA"
    return img


def _inked(img: Image.Image) -> list[tuple[int, int, int, int]]:
    return [p for p in img.get_flattened_data() if p[3] > 200]


def test_signature_placeholder_is_blue_ink_on_transparency():
    img = _open(signature_placeholder("Nguyễn Thị Lấp Lánh Ánh"))
    assert img.getpixel((0, 0))[3] == 0
    ink = _inked(img)
    assert len(ink) > 500
    assert all(b > r and b > g for r, g, b, _ in ink)


def test_seal_placeholder_is_round_red_with_transparent_corners():
    img = _open(seal_placeholder("Ủy ban nhân dân tỉnh Vĩnh Long"))
    w, h = img.size
    assert w == h
    for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        assert img.getpixel(corner)[3] == 0
    assert img.getpixel((w // 2, h // 2))[:3] == (210, 25, 30)  # the star's centre
    ink = _inked(img)
    assert all(r > 150 and g < 100 and b < 100 for r, g, b, _ in ink)


def test_different_names_give_different_images():
    assert signature_placeholder("Trần Văn B") != signature_placeholder("Lê Thị C")
    assert seal_placeholder("Sở Tài chính") != seal_placeholder("Sở Y tế")


def test_check_png_accepts_png_and_refuses_others():
    png = signature_placeholder("A")
    assert check_png(png) == png
    for bad in (b"", b"GIF89a....", png[:50], b"\x89PNG\r\n\x1a\n" + b"\x00" * 100):
        with pytest.raises(ImageError):
            check_png(bad)
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, format="JPEG")
    with pytest.raises(ImageError):
        check_png(jpeg.getvalue())
