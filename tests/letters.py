"""Realistic Vietnamese official letters (công văn) laid out as Decree 30/2020 Appendix I
shows them, drawn with reportlab and an embedded Vietnamese font, so that tests find the
signing space the way the service must: in the text layer of a real-looking letter.

``cong_van()`` gives a 3-page letter: page 1 has the agency and the national motto, the
"Số: …/UBND-VP" label and the "…, ngày … tháng … năm …" line, then the body; the last page
ends with "Nơi nhận:" on the left and the signature block on the right:
"TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH / [space] / Nguyễn Văn A". ``signature_block()`` returns
where the title and the name were drawn (PDF points), for the tests' assertions.
"""
from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageChops
from pyhanko.pdf_utils.reader import PdfFileReader

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from signing.stamps import FONT_PATH

FONT = "NotoVi"
PAGE_W, PAGE_H = A4
BLOCK_CENTRE_X = 430.0  # centre of the right column, where the signature block sits
NAME_Y = 150.0  # baseline of the printed name on the last page
LINE = 15.0
SPACE = 80.0  # the blank signing space between the title and the name


@dataclass(frozen=True)
class BlockGeometry:
    title_bottom: float  # lowest point of the title line (its baseline minus descent)
    name_top: float  # highest point of the name line
    centre_x: float


@lru_cache(maxsize=1)
def _font() -> str:
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH)))
    return FONT


def _centred(c: Canvas, text: str, x: float, y: float, size: float, *, split: bool = False) -> None:
    """``split``: draw the text as two separate text objects (two runs), as word processors
    often do, so that a search over whole text runs would miss it."""
    c.setFont(_font(), size)
    if not split or " " not in text:
        c.drawCentredString(x, y, text)
        return
    head, tail = text.split(" ", 1)
    width = pdfmetrics.stringWidth(text, FONT, size)
    left = x - width / 2
    c.drawString(left, y, head + " ")
    c.drawString(left + pdfmetrics.stringWidth(head + " ", FONT, size), y, tail)


def _body(c: Canvas, page: int, top: float, bottom: float) -> None:
    c.setFont(_font(), 13)
    y = top
    n = 0
    while y > bottom:
        n += 1
        c.drawString(85, y, f"{n}. Nội dung trang {page}: triển khai liên thông văn bản điện tử giữa các cơ quan.")
        y -= 19


def cong_van(*, name: str = "Nguyễn Văn A", title_lines: tuple[str, ...] = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"),
             pages: int = 3, split_runs: bool = True, space: float = SPACE) -> bytes:
    """The letter as PDF bytes. ``title_lines`` are the lines of the signature block above
    the signing space (authority line first); ``split_runs`` draws them in two runs each."""
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, pageCompression=0)
    c.setTitle("Công văn thử nghiệm")
    for page in range(1, pages + 1):
        if page == 1:
            _centred(c, "ỦY BAN NHÂN DÂN", 150, 790, 12)
            _centred(c, "TỈNH VĨNH LONG", 150, 775, 12)
            _centred(c, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 400, 790, 12)
            _centred(c, "Độc lập - Tự do - Hạnh phúc", 400, 775, 13)
            _centred(c, "Số:        /UBND-VP", 150, 745, 13)
            _centred(c, "Vĩnh Long, ngày     tháng     năm 2026", 400, 745, 13)
            _centred(c, "V/v triển khai liên thông văn bản", 150, 725, 12)
            _centred(c, "Kính gửi: Ủy ban nhân dân các xã, phường", 300, 690, 13)
            _body(c, page, 650, 80)
        elif page < pages:
            _body(c, page, 790, 80)
        else:
            _body(c, page, 790, 330)
            c.setFont(_font(), 12)
            c.drawString(70, 300, "Nơi nhận:")
            c.setFont(_font(), 10)
            for i, line in enumerate(("- Như trên;", "- Chủ tịch, các PCT UBND tỉnh;", "- Lưu: VT, VP.")):
                c.drawString(70, 285 - 12 * i, line)
            geometry = signature_block(name=name, title_lines=title_lines, space=space)
            top_baseline = geometry.title_bottom + 3 + LINE * (len(title_lines) - 1)
            for i, line in enumerate(title_lines):
                _centred(c, line, BLOCK_CENTRE_X, top_baseline - LINE * i, 13, split=split_runs)
            _centred(c, name, BLOCK_CENTRE_X, NAME_Y, 13, split=split_runs)
        c.setFont(_font(), 10)
        c.drawCentredString(PAGE_W / 2, 30, f"{page}")
        c.showPage()
    c.save()
    return out.getvalue()


def signature_block(*, name: str = "Nguyễn Văn A", title_lines: tuple[str, ...] = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"),
                    space: float = SPACE) -> BlockGeometry:
    """Where :func:`cong_van` draws the lowest title line and the name (approximate extents:
    3 pt of descent below a baseline, 10 pt of cap height above it)."""
    name_top = NAME_Y + 10
    title_bottom = name_top + space
    return BlockGeometry(title_bottom=title_bottom, name_top=name_top, centre_x=BLOCK_CENTRE_X)


# --- seeing the page as a reader does (poppler's pdftoppm) ---------------------------------

DPI = 144  # two pixels per point: thin, antialiased strokes of a signature still show solid colour
SCALE = DPI / 72


def render_last_page(data: bytes, folder: Path) -> Image.Image:
    path = folder / "letter.pdf"
    path.write_bytes(data)
    pages = len(PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Kids"])
    subprocess.run(["pdftoppm", "-r", str(DPI), "-f", str(pages), "-l", str(pages), "-png", "-singlefile",
                    str(path), str(folder / "page")], check=True, capture_output=True, timeout=60)
    return Image.open(folder / "page.png").convert("RGB")


def _mask(crop: Image.Image, colour: str) -> Image.Image:
    """255 where the pixel has the colour (Decree 30 blue signature ink, red seal ink), else 0:
    per-channel thresholds combined in C (Pillow), fast enough for whole pages."""
    r, g, b = crop.split()
    if colour == "blue":
        tests = (r.point(lambda v: 255 if v < 90 else 0), g.point(lambda v: 255 if v < 120 else 0),
                 b.point(lambda v: 255 if v > 120 else 0))
    else:
        tests = (r.point(lambda v: 255 if v > 150 else 0), g.point(lambda v: 255 if v < 80 else 0),
                 b.point(lambda v: 255 if v < 90 else 0))
    return ImageChops.multiply(ImageChops.multiply(tests[0], tests[1]), tests[2])


def _crop(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    x1, y1, x2, y2 = box
    return img.crop((int(x1 * SCALE), int((PAGE_H - y2) * SCALE), int(x2 * SCALE), int((PAGE_H - y1) * SCALE)))


def ink(img: Image.Image, box: tuple[float, float, float, float], colour: str) -> int:
    """Pixels of the colour inside ``box`` (PDF points, lower-left origin) of a page that
    :func:`render_last_page` rendered."""
    return _mask(_crop(img, box), colour).histogram()[255]


def ink_extent(img: Image.Image, box: tuple[float, float, float, float], colour: str) -> tuple[float, float]:
    """Leftmost and rightmost x (PDF points) of the colour's ink inside ``box``."""
    bounds = _mask(_crop(img, box), colour).getbbox()
    assert bounds is not None, f"no {colour} ink in {box}"
    return box[0] + bounds[0] / SCALE, box[0] + (bounds[2] - 1) / SCALE
