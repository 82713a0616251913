"""The text of a PDF attachment's seal stamp (signing.attachments)."""
from __future__ import annotations

import pytest

from signing.attachments import attachment_style, first_page_top_right, reference_line


@pytest.mark.parametrize("number, notation, expected", [
    ("12", "UBND-VP", "Số: 12/UBND-VP"), (12, "UBND-VP", "Số: 12/UBND-VP"), ("", "UBND-VP", "Số: UBND-VP"),
    (None, None, ""), ("", "", ""),
])
def test_the_reference_line_of_a_pdf_attachment_s_stamp(number, notation, expected):
    assert reference_line(number, notation) == expected


def test_the_stamp_sits_at_the_top_right_inside_the_page():
    x1, y1, x2, y2 = first_page_top_right((0, 0, 595.28, 841.89))
    assert x2 < 595.28 and y2 < 841.89 and x1 > 595.28 / 2 and y1 > 841.89 * 0.85


def test_a_percent_sign_in_the_agency_name_is_text_not_a_parameter():
    style = attachment_style("Sở 100% Thử", "Số: 1/UBND")
    assert style.stamp_text.splitlines() == ["Sở 100%% Thử", "Số: 1/UBND", "%(time)s"]
    assert (style.stamp_text % {"time": "T"}).splitlines()[0] == "Sở 100% Thử"
