"""The clerk's marks on page 1: the number (``Số: 12/UBND-VP``) and the issue date written
into the room the letter leaves for them, after the official signed and before the seal.

Decree 30/2020 has the official sign before the number and date exist; the clerk then
numbers, dates and seals. The marks are found in page 1's text layer (PDFium): the "Số:"
label, and the line "…, ngày … tháng … năm …". Each value is written as a *stamp
annotation* (its own appearance stream, the embedded Vietnamese font) in an incremental
update, never into the page's content: the verifier accepts annotations after an approval
signature and names them (``modification: annotations``, finding ``ANNOTATIONS_ADDED``),
while any change to page content fails it (docs/verification-policy.md). The stamp's ink
lands only on blank paper between the words, so the rendered-page comparison
(``signing.checks.visual``: no signed ink may change under an annotation) holds too. The
agency seal, applied next, covers the update.

A letter with no room (no label, dots or text where the value goes, a gap too narrow even
at 8 pt) gets nothing written for that mark: :class:`MarksResult` says which were written.
"""
from __future__ import annotations

import ctypes
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Iterable

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError

from signing.stamps import font_factory

MIN_FONT_SIZE = 8.0
GAP_PADDING = 1.5  # points kept free on each side of a written value
FREE_RUN = 220.0  # how far a value may extend when nothing follows the label on its line
INK = (0.0, 0.0, 0.0)
DESCENT = 0.3  # of the font size: room below the baseline (Noto Sans: 0.293 em)
NUMBER_LABEL = re.compile(r"S[ốỐ]\s*:", re.IGNORECASE)
DATE_WORDS = ("ngày", "tháng", "năm")


@dataclass(frozen=True)
class Char:
    text: str
    left: float
    bottom: float
    right: float
    top: float
    size: float  # font size in points, as the text layer gives it
    baseline: float  # the glyph origin's y: descenders (g, y) do not move it

    @property
    def ink(self) -> bool:
        return not self.text.isspace() and self.right > self.left


@dataclass(frozen=True)
class Slot:
    """Blank room on a line: where a value may be written."""
    left: float
    right: float
    baseline: float
    size: float
    centred: bool  # between two words (centred there), or at the end of the line (after a space)


@dataclass
class MarksResult:
    """What was written (``number``, ``date``) and the update's bytes (the input unchanged
    when nothing could be written)."""
    number_written: bool = False
    date_written: bool = False
    stamps: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)


def format_number(number: int) -> str:
    """Decree 30 Art. 15: numbers below 10 are written with a leading 0 (01, 02, …)."""
    return f"{number:02d}"


def date_parts(day: date) -> tuple[str, str, str]:
    """Decree 30 (Phụ lục I): days below 10 and the months 1 and 2 take a leading 0."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{day.day:02d}", month, str(day.year)


# --- reading the text layer -----------------------------------------------------------

def page_chars(pdf: bytes, page_index: int = 0) -> list[Char]:
    """Every character of a page with its box, in reading order ('\\n' between lines)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[page_index]
        textpage = page.get_textpage()
        out: list[Char] = []
        for i in range(textpage.count_chars()):
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            text = chr(code) if code else ""
            if text in ("\r", "\n", "\x02", ""):
                out.append(Char("\n", 0, 0, 0, 0, 0, 0))
                continue
            left, bottom, right, top = textpage.get_charbox(i)
            size = float(pdfium_c.FPDFText_GetFontSize(textpage.raw, i))
            x, y = ctypes.c_double(), ctypes.c_double()
            pdfium_c.FPDFText_GetCharOrigin(textpage.raw, i, x, y)
            out.append(Char(unicodedata.normalize("NFC", text), left, bottom, right, top, size, y.value))
        textpage.close()
        page.close()
        return out
    finally:
        doc.close()


def annotation_rects(pdf: bytes, page_index: int = 0) -> list[tuple[float, float, float, float]]:
    """The rectangles of a page's annotations (their text is not in the text layer)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[page_index]
        rects = []
        for i in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
            annot = pdfium_c.FPDFPage_GetAnnot(page.raw, i)
            rect = pdfium_c.FS_RECTF()
            if pdfium_c.FPDFAnnot_GetRect(annot, rect):
                rects.append((min(rect.left, rect.right), min(rect.bottom, rect.top),
                              max(rect.left, rect.right), max(rect.bottom, rect.top)))
            pdfium_c.FPDFPage_CloseAnnot(annot)
        page.close()
        return rects
    finally:
        doc.close()


def _clear_of(slot: Slot | None, rects: list[tuple[float, float, float, float]]) -> Slot | None:
    """``slot``, unless an annotation already sits in it (a value written before, whose
    text the text layer does not show)."""
    if slot is None:
        return None
    for x1, y1, x2, y2 in rects:
        if y1 < slot.baseline + slot.size * 0.7 and y2 > slot.baseline and x1 < slot.right and x2 > slot.left:
            return None
    return slot


def _lines(chars: list[Char]) -> list[list[Char]]:
    lines: list[list[Char]] = [[]]
    for c in chars:
        if c.text == "\n":
            if lines[-1]:
                lines.append([])
        else:
            lines[-1].append(c)
    return [line for line in lines if line]


def _text(line: list[Char]) -> str:
    return "".join(c.text for c in line)


def _slot_after(line: list[Char], end: int, page_right: float) -> Slot | None:
    """The blank room after ``line[end - 1]`` up to the next ink on the line (or up to
    FREE_RUN further when none follows); None when the next ink starts a value already
    written (a digit) or leaves no room."""
    label = line[end - 1]
    following = [c for c in line[end:] if c.ink and c.left >= label.right - 0.5]
    if following and following[0].text.isdigit():
        return None
    right = following[0].left if following else min(page_right - 20, label.right + FREE_RUN)
    inked = [c for c in line[:end] if c.ink]
    size = max((c.size for c in inked[-3:]), default=12.0) or 12.0
    baseline = inked[-1].baseline if inked else label.baseline
    if right - label.right < 2 * GAP_PADDING + 4:
        return None
    return Slot(label.right + GAP_PADDING, right - GAP_PADDING, baseline, size, centred=bool(following))


def number_slot(chars: list[Char], page_right: float) -> tuple[Slot, bool] | None:
    """Room after the "Số:" label, and whether the notation (``/UBND-VP``) is already printed
    after it (then only the number is written)."""
    for line in _lines(chars):
        text = _text(line)
        match = NUMBER_LABEL.search(text)
        if match is None:
            continue
        slot = _slot_after(line, match.end(), page_right)
        if slot is None:
            return None
        rest = text[match.end():].lstrip()
        return slot, rest.startswith("/")
    return None


def date_slots(chars: list[Char], page_right: float) -> list[Slot | None] | None:
    """Room after "ngày", "tháng" and "năm" on the date line (None for a part already filled)."""
    for line in _lines(chars):
        text = _text(line)
        lowered = text.lower()
        starts = []
        position = 0
        for word in DATE_WORDS:
            found = lowered.find(word, position)
            if found < 0:
                break
            starts.append(found + len(word))
            position = found + len(word)
        if len(starts) != 3:
            continue
        return [_slot_after(line, end, page_right) for end in starts]
    return None


# --- writing --------------------------------------------------------------------------

def _fit(engine: FontEngine, text: str, slot: Slot) -> tuple[int, float] | None:
    """The font size to write ``text`` in ``slot`` (the letter's own, smaller if need be)
    and the text's width at that size."""
    advance = engine.shape(text).x_advance  # in em
    size = int(round(slot.size))
    while size >= MIN_FONT_SIZE:
        if advance * size + (0 if slot.centred else size * 0.25) <= slot.right - slot.left:
            return size, advance * size
        size -= 1
    return None


def _stamp(writer: IncrementalPdfFileWriter, engine: FontEngine, text: str, slot: Slot, size: int,
           width: float) -> tuple[generic.IndirectObject, tuple[float, float, float, float]]:
    """A stamp annotation showing ``text`` with its baseline on the slot's baseline."""
    below = size * DESCENT
    height = size * 1.2
    left = slot.left + ((slot.right - slot.left - width) / 2 if slot.centred else size * 0.25)
    box = (left, slot.baseline - below, left + width + 1, slot.baseline - below + height)
    ops = b"q %g %g %g rg BT /F1 %d Tf 0.5 %g Td " % (*INK, size, below) + engine.shape(text).graphics_ops + b" ET Q"
    appearance = generic.StreamObject({
        pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
        pdf_name("/BBox"): generic.ArrayObject([generic.FloatObject(0), generic.FloatObject(0),
                                                generic.FloatObject(box[2] - box[0]),
                                                generic.FloatObject(box[3] - box[1])]),
        pdf_name("/Resources"): generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject(
            {pdf_name("/F1"): engine.as_resource()})}),
    }, stream_data=ops)
    annotation = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Stamp"),
        pdf_name("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in box),
        # printed and locked: part of the document, not a reader's comment to be moved
        pdf_name("/F"): generic.NumberObject(4 | 128),
        pdf_name("/Contents"): generic.TextStringObject(text),
        pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): writer.add_object(appearance)}),
    }))
    return annotation, box


def _add_to_page(writer: IncrementalPdfFileWriter, annotations: Iterable[generic.IndirectObject]) -> None:
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    existing = page.raw_get("/Annots") if "/Annots" in page else None
    if isinstance(existing, generic.IndirectObject):
        array = existing.get_object()
        array.extend(annotations)
        writer.update_container(array)
        return
    array = generic.ArrayObject(list(existing or []))
    array.extend(annotations)
    page[pdf_name("/Annots")] = array
    writer.update_container(page)


def write_marks(source: IO[bytes], output: IO[bytes], *, number_text: str, notation: str,
                issued_on: date) -> MarksResult:
    """Write ``number_text`` (with ``/notation`` when the letter does not print it) after
    "Số:", and the day, month and year of ``issued_on`` on the date line, as an incremental
    update of ``source`` into ``output``. Nothing found: ``output`` is a copy of ``source``."""
    source.seek(0)
    pdf = source.read()
    try:
        return _write_marks(pdf, output, number_text=number_text, notation=notation, issued_on=issued_on)
    except (pdfium.PdfiumError, PdfError, IndexError):
        # a file the service accepted but PDFium or pyHanko cannot read here (no page 1, a
        # damaged text layer): the number is still registered, only not written on the page
        output.seek(0)
        output.truncate()
        output.write(pdf)
        return MarksResult()


def _write_marks(pdf: bytes, output: IO[bytes], *, number_text: str, notation: str, issued_on: date) -> MarksResult:
    doc = pdfium.PdfDocument(pdf)
    try:
        page_right = float(doc[0].get_width())
    finally:
        doc.close()
    chars = page_chars(pdf)
    occupied = annotation_rects(pdf)
    writes: list[tuple[str, str, Slot]] = []
    found_number = number_slot(chars, page_right)
    if found_number is not None and (slot := _clear_of(found_number[0], occupied)) is not None:
        notation_printed = found_number[1]
        writes.append(("number", number_text if notation_printed or not notation else f"{number_text}/{notation}",
                       slot))
    slots = date_slots(chars, page_right)
    if slots is not None:
        for value, slot_or_none in zip(date_parts(issued_on), slots, strict=True):
            if (free := _clear_of(slot_or_none, occupied)) is not None:
                writes.append(("date", value, free))
    result = MarksResult()
    if not writes:
        output.write(pdf)
        return result
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    engine = font_factory().create_font_engine(writer)
    annotations = []
    for kind, text, slot in writes:
        fitted = _fit(engine, text, slot)
        if fitted is None:
            continue
        annotation, box = _stamp(writer, engine, text, slot, *fitted)
        annotations.append(annotation)
        result.stamps.append((text, box))
        if kind == "number":
            result.number_written = True
        else:
            result.date_written = True
    if not annotations:
        output.write(pdf)
        return result
    _add_to_page(writer, annotations)
    writer.write(output)
    return result
