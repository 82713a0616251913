"""The clerk's number and date on page 1 (signing.clerk_marks): found in the text layer,
written as stamp annotations only into blank room, never over what the letter prints."""
from __future__ import annotations

import io
from datetime import date

import pypdfium2 as pdfium
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.clerk_marks import date_parts, format_number, page_chars, write_marks
from tests.exchange_fixtures import make_pdf
from tests.letters import cong_van


def _stamps(pdf: bytes) -> list[tuple[str, tuple[float, ...]]]:
    """Page 1's annotations: (subtype, text, rect)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    out = []
    for annot in page.get("/Annots", []):
        annot = annot.get_object()
        assert annot["/Subtype"] == "/Stamp" and "/N" in annot["/AP"]
        out.append((str(annot["/Contents"]), tuple(float(v) for v in annot["/Rect"])))
    return out


def _word(chars: list, word: str):  # type: ignore[no-untyped-def, type-arg]
    """The boxes of ``word``'s first occurrence on the page."""
    text = "".join(c.text for c in chars)
    i = text.index(word)
    return chars[i:i + len(word)]


def _between(rect: tuple[float, ...], left: object, right: object | None) -> bool:
    x1, _, x2, _ = rect
    return left.right <= x1 and (right is None or x2 <= right.left)  # type: ignore[attr-defined]


def _write(pdf: bytes, number: str = "07", notation: str = "UBND-VP", day: date = date(2026, 2, 5)):  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    result = write_marks(io.BytesIO(pdf), out, number_text=number, notation=notation, issued_on=day)
    return result, out.getvalue()


def test_decree_30_writes_small_numbers_days_and_january_february_with_a_leading_zero():
    assert [format_number(n) for n in (1, 9, 10, 123)] == ["01", "09", "10", "123"]
    assert date_parts(date(2026, 2, 5)) == ("05", "02", "2026")
    assert date_parts(date(2026, 1, 31)) == ("31", "01", "2026")
    assert date_parts(date(2026, 11, 9)) == ("09", "11", "2026")


def test_the_number_goes_after_the_label_and_the_date_into_its_line_as_an_incremental_update():
    letter = cong_van(pages=3)
    result, out = _write(letter)
    assert result.number_written and result.date_written
    assert out.startswith(letter)  # incremental: the signed bytes are kept
    stamps = _stamps(out)
    assert [text for text, _ in stamps] == ["07", "05", "02", "2026"]
    chars = page_chars(letter)
    label, slash = _word(chars, "Số:")[-1], _word(chars, "/UBND")[0]
    day, month, year = _word(chars, "ngày")[-1], _word(chars, "tháng"), _word(chars, "năm")
    assert _between(stamps[0][1], label, slash)  # in the blank between "Số:" and "/UBND-VP"
    assert _between(stamps[1][1], day, month[0]) and _between(stamps[2][1], month[-1], year[0])
    assert _between(stamps[3][1], year[-1], None)
    for _, (_, y1, _, y2) in stamps:  # on the label's line
        assert y1 < label.baseline < y2
    # the page's content is untouched: its text is the letter's, and the pages are as many
    assert "".join(c.text for c in page_chars(out)) == "".join(c.text for c in chars)
    assert len(pdfium.PdfDocument(out)) == 3


def test_without_a_printed_notation_the_number_carries_it():
    result, out = _write(cong_van(pages=1, notation_printed=False), number="12")
    assert result.number_written and _stamps(out)[0][0] == "12/UBND-VP"


def test_a_letter_without_room_is_left_as_it_is():
    plain = make_pdf("Công văn không có chỗ ghi số")
    result, out = _write(plain)
    assert not result.number_written and not result.date_written and out == plain


def test_a_number_or_date_already_printed_is_not_written_over():
    letter = cong_van(pages=1, date_line=False)
    first, once = _write(letter, number="03")
    assert first.number_written and not first.date_written
    again, twice = _write(once, number="04")
    assert not again.number_written  # "Số: 03" is there now: 04 is not written over it
    assert twice == once and [text for text, _ in _stamps(twice)] == ["03"]


@pytest.mark.parametrize("data", [b"%PDF-1.7 not really", b""])
def test_a_file_that_cannot_be_read_gets_nothing_written(data):
    result, out = _write(data)
    assert not (result.number_written or result.date_written) and out == data
