"""A real-looking công văn (reportlab, embedded Vietnamese font), laid out as Decree 30/2020
Appendix I shows it: the national heading, the "Số:      /UBND-VP" label and the date line
left blank for the clerk, body text on every page and the signature block on the last page
("TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH / [space] / Trần Văn Ánh" at the bottom right, "Nơi nhận:"
on the left). Tests find in it what the service must find in the text layer: the clerk's
places on page 1, the signing space on the last page. ``signature_block()`` says where the
title and the name were drawn (PDF points); the helpers below render a page with poppler
and count ink, as a reader would see it.
"""
from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from signing.stamps import FONT_PATH

FONT = "NotoSansVi"
PAGE_W, PAGE_H = A4
SIGNER = "Trần Văn Ánh"  # the test world's signer (tests.exchange_fixtures), as the letter prints them
BLOCK_CENTRE_X = 430.0  # centre of the right column, where the signature block sits
NAME_Y = 120.0  # baseline of the printed name on the last page
LINE = 16.0  # between the lines of the block above the signing space
SPACE = 81.0  # the blank signing space between the title and the name
SIZE = 12


@dataclass(frozen=True)
class BlockGeometry:
    title_bottom: float  # lowest point of the title line (its baseline minus descent)
    name_top: float  # highest point of the name line
    centre_x: float


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH)))
    return FONT


def _centred(c: canvas.Canvas, text: str, x: float, y: float, *, split: bool) -> None:
    """``split``: draw the text as two separate text runs, as word processors often do, so
    that a search over whole text runs would miss it."""
    if not split or " " not in text:
        c.drawCentredString(x, y, text)
        return
    head, tail = text.split(" ", 1)
    left = x - pdfmetrics.stringWidth(text, FONT, SIZE) / 2
    c.drawString(left, y, head + " ")
    c.drawString(left + pdfmetrics.stringWidth(head + " ", FONT, SIZE), y, tail)


def cong_van(pages: int = 3, *, notation_printed: bool = True, date_line: bool = True,
             subject: str = "V/v triển khai liên thông văn bản điện tử", name: str = SIGNER,
             title_lines: tuple[str, ...] = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), split_runs: bool = True,
             space: float = SPACE) -> bytes:
    """A ``pages``-page letter. ``notation_printed``: "Số:      /UBND-VP" (else "Số:" alone);
    ``date_line``: the "Vĩnh Long, ngày … tháng … năm …" line is there. The block prints
    ``title_lines`` (authority line first) above a signing space ``space`` points high and
    ``name`` under it; ``split_runs`` draws each of those lines in two text runs."""
    font = _font()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    width, height = A4
    for n in range(1, pages + 1):
        if n == 1:
            c.setFont(font, 12)
            c.drawCentredString(150, height - 60, "ỦY BAN NHÂN DÂN")
            c.drawCentredString(150, height - 76, "TỈNH THỬ NGHIỆM")
            c.drawCentredString(420, height - 60, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
            c.drawCentredString(420, height - 76, "Độc lập - Tự do - Hạnh phúc")
            c.setFont(font, 13)
            c.drawString(95, height - 110, "Số:             /UBND-VP" if notation_printed else "Số:")
            if date_line:
                c.drawString(330, height - 110, "Vĩnh Long, ngày        tháng        năm")
            c.setFont(font, 12)
            c.drawString(95, height - 135, subject)
            top = height - 180
        else:
            top = height - 80
        c.setFont(font, 12)
        for i in range(20):
            c.drawString(85, top - 22 * i, f"Dòng {i + 1} trang {n}: nội dung văn bản hành chính của Ủy ban.")
        if n == pages:
            c.setFont(font, 12)
            c.drawString(70, 230, "Nơi nhận:")
            c.setFont(font, 10)
            for i, line in enumerate(("- Như trên;", "- Chủ tịch, các PCT UBND tỉnh;", "- Lưu: VT, VP.")):
                c.drawString(70, 216 - 12 * i, line)
            c.setFont(font, SIZE)
            geometry = signature_block(space=space)
            top_baseline = geometry.title_bottom + 3 + LINE * (len(title_lines) - 1)
            for i, line in enumerate(title_lines):
                _centred(c, line, BLOCK_CENTRE_X, top_baseline - LINE * i, split=split_runs)
            _centred(c, name, BLOCK_CENTRE_X, NAME_Y, split=split_runs)
        c.showPage()
    c.save()
    return out.getvalue()


def signature_block(*, space: float = SPACE) -> BlockGeometry:
    """Where :func:`cong_van` draws the lowest title line and the name (approximate extents:
    3 pt of descent below a baseline, 10 pt of cap height above it)."""
    name_top = NAME_Y + 10
    return BlockGeometry(title_bottom=name_top + space, name_top=name_top, centre_x=BLOCK_CENTRE_X)


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
