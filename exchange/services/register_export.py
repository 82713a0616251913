"""A register as a spreadsheet (CSV, UTF-8 with a byte order mark, so that Excel shows
Vietnamese) and as a printable PDF in the register layout Decree 30 asks for (Art. 16.2b,
22.3b): A4 landscape, the embedded Vietnamese font, the register's title, its columns and
page numbers. Both take what :func:`exchange.services.registers.register_rows` answers.

The PDF is laid out by reportlab's table (columns that wrap, the heading repeated on every
page), rather than drawn by hand.
"""
from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, Callable
from xml.sax.saxutils import escape

from exchange.domain.enums import Register
from translations import Message, _l

# reportlab is imported by the functions that lay out the PDF: this module is reached by
# every ``flask`` command (through the API's blueprints), the PDF only by its requests.
if TYPE_CHECKING:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph

FONT = "LienthongNotoSans"
Row = dict[str, Any]


def _reference(row: Row) -> str:
    return str(row["document"]["reference"] or "")


def _doc_date(row: Row) -> str:
    return _vn(row["document"]["document_date"])


def _type_subject(row: Row) -> str:
    doc = row["document"]
    return f"{doc['doc_type']}: {doc['subject']}" if doc["doc_type"] else str(doc["subject"])


def _notes(row: Row) -> str | Message:
    """Ghi chú; a document replaced by a later one (edXML BussinessDocType 3) says so."""
    note = str(row["note"] or "")
    replaced_by = row["document"].get("replaced_by")
    if replaced_by is None:
        return note
    return _l("%(note)s replaced by document %(id)s", note=f"{note} " if note else "", id=replaced_by)


def _cell(value: str | Message, lang: str) -> str:
    return value.render(lang) if isinstance(value, Message) else value


def _vn(iso: str | None) -> str:
    """dd/mm/yyyy, as Vietnamese registers write dates."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}" if iso else ""


# (header, width in mm, value): the columns of Decree 30 Phụ lục IV (DOMAIN.md (e))
Column = tuple[Message, float, Callable[[Row], str | Message]]
COLUMNS: dict[Register, list[Column]] = {
    Register.OUTGOING: [
        (_l("Number, notation"), 32, _reference),
        (_l("Date"), 22, _doc_date),
        (_l("Type and subject"), 80, _type_subject),
        (_l("Signed by"), 35, lambda r: str(r["document"]["signer"] or "")),
        (_l("Sent to"), 50, lambda r: "; ".join(r.get("recipients") or [])),
        (_l("Filed copy kept by"), 25, lambda r: str(r["handler"] or "")),
        (_l("Copies"), 17, lambda r: "" if r["copies"] is None else str(r["copies"])),
        (_l("Notes"), 16, _notes),
    ],
    Register.INCOMING: [
        (_l("Date received"), 20, lambda r: _vn(r["registered_on"])),
        (_l("Incoming number"), 14, lambda r: str(r["number"])),
        (_l("Author"), 40, lambda r: str(r["document"]["author"] or "")),
        (_l("Number, notation"), 28, _reference),
        (_l("Document date"), 20, _doc_date),
        (_l("Type and subject"), 75, _type_subject),
        (_l("Received by (unit, person)"), 30, lambda r: str(r["handler"] or "")),
        (_l("Signature, due date"), 25, lambda r: _vn(r["due_on"])),
        (_l("Notes"), 25, _notes),
    ],
}
TITLES = {Register.OUTGOING: _l("OUTGOING DOCUMENTS REGISTER"), Register.INCOMING: _l("INCOMING DOCUMENTS REGISTER")}


def _columns(page: Row) -> list[Column]:
    return COLUMNS[Register(page["register"])]


def to_csv(page: Row, lang: str) -> bytes:
    """The register as CSV, with the Decree's columns (the JSON form has every field)."""
    columns = _columns(page)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, what Excel writes
    writer.writerow([h.render(lang) for h, _, _ in columns])
    for row in page["items"]:
        writer.writerow([_cell(value(row), lang) for _, _, value in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from signing.stamps import FONT_PATH

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH)))
    return FONT


def to_pdf(page: Row, lang: str) -> bytes:
    """The register as a printable PDF (A4 landscape, the heading on every page, "Trang n/N")."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer

    page_size = landscape(A4)
    font = _font()
    register = Register(page["register"])
    columns = _columns(page)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=cell, alignment=1)
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=19, alignment=1)
    sub = ParagraphStyle("sub", fontName=font, fontSize=10, leading=13, alignment=1)

    def para(text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    data = [[para(h.render(lang), head) for h, _, _ in columns]]
    data += [[para(_cell(value(row), lang), cell) for _, _, value in columns] for row in page["items"]]
    if not page["items"]:
        data.append([para(_l("(no entries)").render(lang), cell)] + [para("", cell)] * (len(columns) - 1))
    table = LongTable(data, colWidths=[w * mm for _, w, _ in columns], repeatRows=1)
    table.setStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
        *([("SPAN", (0, 1), (-1, 1))] if not page["items"] else []),
    ])
    period = _l("Year %(year)s", year=page["year"]).render(lang)
    if page.get("from") or page.get("to"):
        period += " (" + _vn(page.get("from")) + " – " + _vn(page.get("to")) + ")"
    story = [para(page["agency"]["name"], sub), Spacer(1, 3 * mm), para(TITLES[register].render(lang), title),
             para(period, sub), Spacer(1, 5 * mm), table]
    out = io.BytesIO()
    page_label = _l("Page %(page)s of %(pages)s", page="{page}", pages="{pages}").render(lang)
    doc = SimpleDocTemplate(out, pagesize=page_size, leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=15 * mm,
                            title=TITLES[register].render(lang), author=page["agency"]["name"])
    doc.build(story, canvasmaker=_numbered_canvas(font, page_label, page_size[0]))
    return out.getvalue()


def _numbered_canvas(font: str, label: str, page_width: float) -> type[Canvas]:
    """A canvas that holds its pages back until the end, so each can say "page n of N"."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802  (reportlab's name)
            self._held.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own "page n of N" recipe

        def save(self) -> None:
            total = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                self.setFont(font, 8)
                text = label.replace("{page}", str(self.getPageNumber())).replace("{pages}", str(total))
                self.drawCentredString(page_width / 2, 8 * mm, text)
                super().showPage()
            super().save()

    return NumberedCanvas
