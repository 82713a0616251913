"""Reading the signature block from character boxes (no PDF, no I/O): lines rebuilt from
single characters, Vietnamese compared whatever its Unicode form and case, the title under
an authority line, and the space between title and name."""
from __future__ import annotations

import unicodedata

from signing.signature_block import SignerText, find_in_segments, normalise, segments

A4 = (0.0, 0.0, 595.28, 841.89)
CHAR_W, CHAR_H = 7.0, 14.0


def line(text: str, x: float, y: float) -> list[tuple[str, tuple[float, float, float, float]]]:
    """One box per character, as PDFium gives them (a combining mark gets its own box)."""
    out = []
    for i, ch in enumerate(text):
        x1 = x + i * CHAR_W
        out.append((ch, (x1, y, x1 + CHAR_W, y + CHAR_H)))
    return out


def block(*title_lines: str, name: str = "Nguyễn Văn A", left: str | None = "Nơi nhận:") -> list:
    chars = []
    if left:
        chars += line(left, 70, 300)  # the left column on the same baseline as the authority line
    y = 300.0
    for title in title_lines:
        chars += line(title, 360, y)
        y -= 16
    chars += line(name, 370, 150)
    return chars


def test_normalise_folds_case_unicode_form_and_spacing() -> None:
    nfd = unicodedata.normalize("NFD", "Chủ  tịch ")
    assert normalise(nfd) == normalise("CHỦ TỊCH") == "chủ tịch"
    assert normalise("Nguyễn Văn A.") == "nguyễn văn a"


def test_columns_on_one_baseline_stay_apart() -> None:
    texts = [normalise(s.text()) for s in segments(block("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"))]
    assert "nơi nhận" in texts and "tm. ủy ban nhân dân" in texts


def test_decomposed_diacritics_join_their_letter() -> None:
    chars = line(unicodedata.normalize("NFD", "CHỦ TỊCH"), 360, 300)
    assert len(chars) > len("CHỦ TỊCH")  # the marks have boxes of their own
    [segment] = segments(chars)
    assert normalise(segment.text()) == "chủ tịch"


def test_characters_drawn_out_of_order_still_make_the_word() -> None:
    chars = line("TỊCH", 400, 300)
    chars = chars[2:] + chars[:2]  # a second text run drawn first
    [segment] = segments(chars)
    assert segment.text() == "TỊCH"


def test_space_lies_between_the_title_under_the_authority_line_and_the_name() -> None:
    chars = block("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
    space = find_in_segments(segments(chars), SignerText(("Chủ tịch",), ("NGUYỄN VĂN A",)), 2, A4)
    assert space is not None
    x1, y1, x2, y2 = space.box
    assert space.name_box[3] < y1 < y2 < space.title_box[1]
    assert space.title_box[1] == 284  # the "CHỦ TỊCH" line, not the authority line above it
    assert x1 < (space.name_box[0] + space.name_box[2]) / 2 < x2


def test_deputy_signing_for_the_chair_is_found_by_the_deputy_title() -> None:
    chars = block("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
    space = find_in_segments(segments(chars), SignerText(("Phó Chủ tịch",), ("Nguyễn Văn A",)), 0, A4)
    assert space is not None and space.title_box[1] == 284


def test_the_title_alone_after_an_authority_prefix_matches() -> None:
    chars = block("KT. GIÁM ĐỐC")
    space = find_in_segments(segments(chars), SignerText(("Giám đốc",), ("Nguyễn Văn A",)), 0, A4)
    assert space is not None and space.title_box[1] == 300


def test_a_certificate_title_longer_than_the_printed_one_matches() -> None:
    chars = block("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
    signer = SignerText(("Chủ tịch Ủy ban nhân dân tỉnh",), ("Nguyễn Văn A",))
    assert find_in_segments(segments(chars), signer, 0, A4) is not None


def test_no_block_when_the_name_or_the_title_is_not_printed() -> None:
    chars = block("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
    assert find_in_segments(segments(chars), SignerText(("Chủ tịch",), ("Trần Thị B",)), 0, A4) is None
    assert find_in_segments(segments(chars), SignerText(("Giám đốc",), ("Nguyễn Văn A",)), 0, A4) is None
    assert find_in_segments(segments(chars), SignerText((), ("Nguyễn Văn A",)), 0, A4) is None


def test_a_name_inside_a_sentence_is_not_the_printed_name() -> None:
    chars = block("CHỦ TỊCH", name="Giao ông Nguyễn Văn A chủ trì")
    assert find_in_segments(segments(chars), SignerText(("Chủ tịch",), ("Nguyễn Văn A",)), 0, A4) is None


def test_no_room_between_title_and_name_is_no_space() -> None:
    chars = line("CHỦ TỊCH", 360, 200) + line("Nguyễn Văn A", 360, 180)
    assert find_in_segments(segments(chars), SignerText(("Chủ tịch",), ("Nguyễn Văn A",)), 0, A4) is None


def test_a_line_between_the_matched_title_and_the_name_bounds_the_space() -> None:
    # the certificate says "Chủ tịch" and matches "KT. CHỦ TỊCH"; "PHÓ CHỦ TỊCH" is printed under it
    chars = block("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
    space = find_in_segments(segments(chars), SignerText(("Chủ tịch",), ("Nguyễn Văn A",)), 0, A4)
    assert space is not None
    assert space.title_box[1] == 300  # the matched line
    assert space.box[3] < 284  # but the stamp stays under the "PHÓ CHỦ TỊCH" line (bottom at 284)
