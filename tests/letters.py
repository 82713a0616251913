"""A real-looking công văn (reportlab, embedded Vietnamese font): the national heading, the
"Số:      /UBND-VP" label and the date line left blank for the clerk, body text on every
page and the signature block on the last page."""
from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from signing.stamps import FONT_PATH

FONT = "NotoSansVi"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH)))
    return FONT


def cong_van(pages: int = 3, *, notation_printed: bool = True, date_line: bool = True,
             subject: str = "V/v triển khai liên thông văn bản điện tử") -> bytes:
    """A ``pages``-page letter. ``notation_printed``: "Số:      /UBND-VP" (else "Số:" alone);
    ``date_line``: the "Vĩnh Long, ngày … tháng … năm …" line is there."""
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
            c.drawCentredString(430, 230, "TM. ỦY BAN NHÂN DÂN")
            c.drawCentredString(430, 214, "CHỦ TỊCH")
            c.drawCentredString(430, 120, "Trần Văn Ánh")
        c.showPage()
    c.save()
    return out.getvalue()
