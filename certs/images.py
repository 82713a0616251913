"""Visible images of a credential: a scanned PNG, or a generated placeholder.

Placeholders (Decree 30/2020 colours): a blue handwritten-style signature line with the
person's name, and a round red seal with the agency name around the rim and a star in
the middle. Both are transparent PNGs. Fonts come from PyPI packages
(``fontpkg-dancing-script``, ``fontpkg-be-vietnam-pro``) so Vietnamese diacritics render
on any machine.
"""
from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from translations import _l

# Pillow is imported in the functions that draw: ``flask`` commands reach this module and
# most never draw (see docs/benchmarks.md, start-up).
if TYPE_CHECKING:
    from PIL import Image

SIGNATURE_BLUE = (20, 40, 160, 255)
SEAL_RED = (210, 25, 30, 255)
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_SIDE = 4000


class ImageError(ValueError):
    """The given image is not a usable PNG."""


def _font_file(package: str, filename: str) -> Path:
    module = __import__(package)
    assert module.__file__ is not None  # the font packages are regular packages, not namespaces
    return Path(module.__file__).resolve().parent / "files" / filename


@lru_cache(maxsize=None)
def script_font_path() -> Path:
    return _font_file("fontpkg_dancing_script", "DancingScript[wght].ttf")


@lru_cache(maxsize=None)
def seal_font_path() -> Path:
    return _font_file("fontpkg_be_vietnam_pro", "BeVietnamPro-Bold.ttf")


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def check_png(data: bytes) -> bytes:
    """Accept a PNG of sane size; return it unchanged (refuse anything else)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(_l("the image is larger than %(limit)s MB", limit=MAX_IMAGE_BYTES // (1024 * 1024)))
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                raise ImageError(_l("the image must be a PNG"))
            if max(img.size) > MAX_IMAGE_SIDE:
                raise ImageError(_l("the image is larger than %(limit)s pixels on a side", limit=MAX_IMAGE_SIDE))
            img.verify()
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for broken files
        raise ImageError(_l("the image cannot be read as PNG: %(error)s", error=type(exc).__name__)) from None
    return data


def signature_placeholder(full_name: str, *, width: int = 600, height: int = 200) -> bytes:
    """A blue, slightly slanted handwritten line with the name, on transparency."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    size = 80
    font = ImageFont.truetype(str(script_font_path()), size)
    while size > 20 and draw.textlength(full_name, font=font) > width * 0.9:
        size -= 4
        font = ImageFont.truetype(str(script_font_path()), size)
    text_w = draw.textlength(full_name, font=font)
    x = (width - text_w) / 2
    draw.text((x, height * 0.18), full_name, font=font, fill=SIGNATURE_BLUE)
    # a flourish under the name, as a hand would draw it
    y0 = height * 0.8
    points = [(x + t * text_w, y0 - 12 * math.sin(t * math.pi) + 6 * t) for t in (i / 40 for i in range(41))]
    draw.line(points, fill=SIGNATURE_BLUE, width=4, joint="curve")
    return _png(img)


def _star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def seal_placeholder(agency_name: str, *, size: int = 500) -> bytes:
    """A round red seal: two rims, the agency name around the top, a star in the middle."""
    from PIL import Image, ImageDraw, ImageFont

    scale = 2  # draw large, then downsample: smooth edges
    big = size * scale
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = big / 2
    outer = big / 2 - 6 * scale
    draw.ellipse((c - outer, c - outer, c + outer, c + outer), outline=SEAL_RED, width=10 * scale)
    inner = outer * 0.66
    draw.ellipse((c - inner, c - inner, c + inner, c + inner), outline=SEAL_RED, width=4 * scale)
    draw.polygon(_star(c, c, inner * 0.55, inner * 0.22), fill=SEAL_RED)

    text = agency_name.upper()
    ring = (outer + inner) / 2
    font_size = int((outer - inner) * 0.55)
    font = ImageFont.truetype(str(seal_font_path()), font_size)
    # Spread the letters over up to 300 degrees of the rim, centred on the top.
    widths = [draw.textlength(ch, font=font) for ch in text]
    total = sum(widths) + 0.1 * font_size * (len(text) - 1)
    while total / ring > math.radians(300) and font_size > 8:
        font_size -= 2
        font = ImageFont.truetype(str(seal_font_path()), font_size)
        widths = [draw.textlength(ch, font=font) for ch in text]
        total = sum(widths) + 0.1 * font_size * (len(text) - 1)
    angle = -math.pi / 2 - (total / ring) / 2
    for ch, w in zip(text, widths, strict=True):
        mid = angle + (w / 2) / ring
        glyph = Image.new("RGBA", (font_size * 2, font_size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((font_size, font_size), ch, font=font, fill=SEAL_RED, anchor="mm")
        rotated = glyph.rotate(-math.degrees(mid + math.pi / 2), resample=Image.Resampling.BICUBIC)
        gx = c + ring * math.cos(mid) - rotated.width / 2
        gy = c + ring * math.sin(mid) - rotated.height / 2
        img.alpha_composite(rotated, (int(gx), int(gy)))
        angle += (w + 0.1 * font_size) / ring
    return _png(img.resize((size, size), Image.Resampling.LANCZOS))
