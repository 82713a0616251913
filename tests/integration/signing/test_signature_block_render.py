"""The person stamp lands in the letter's signing space, seen as a reader sees it: the last
page of a realistic 3-page công văn rendered by poppler's pdftoppm, blue ink found between
the title line and the printed name (and none elsewhere), the red seal over the left of it."""
from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess

import pytest
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.reader import PdfFileReader

from errors import ErrorCode, Unprocessable
from signing.signature_block import SignerText
from signing.sign import sign
from signing.stamps import Appearance
from tests.letters import (BLOCK_CENTRE_X, PAGE_H, SIGNER, cong_van, ink, ink_extent, render_last_page,
                           signature_block)
from tests.signing_pki import person, seal, signing_pki  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) not installed")

LETTER_SIGNER = SignerText(("Chủ tịch",), (SIGNER,))


def band_png(width: int, height: int) -> bytes:
    """A blue band across the whole width of a transparent image: its ink spans the image."""
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((0, height // 3, width - 1, 2 * height // 3), fill=(20, 40, 200, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def official(person):  # type: ignore[no-untyped-def]
    # the letter prints the signer under "CHỦ TỊCH"; the certificate says the same
    return dataclasses.replace(person, display_name=SIGNER, position="Chủ tịch")


def test_person_stamp_is_drawn_between_title_and_name(official, tmp_path) -> None:  # type: ignore[no-untyped-def]
    letter = cong_van()
    result = sign(io.BytesIO(letter), official, level="B-B")
    assert result.placement == "signature_block"
    img = render_last_page(result.data(), tmp_path)
    before = render_last_page(letter, tmp_path)
    g = signature_block()
    space = (BLOCK_CENTRE_X - 110, g.name_top, BLOCK_CENTRE_X + 110, g.title_bottom)
    assert ink(before, space, "blue") == 0
    inked = ink(img, space, "blue")
    assert inked > 300, inked
    whole_page = (0, 0, 595, PAGE_H)
    assert ink(img, whole_page, "blue") == inked  # all of it in the space: nothing over the text
    # and the page's own text is untouched: title and name still read
    text = subprocess.run(["pdftotext", "-f", "3", "-l", "3", "-enc", "UTF-8", str(tmp_path / "letter.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout
    assert "CHỦ TỊCH" in text and SIGNER in text


def test_the_block_is_found_from_the_metadata_when_the_certificate_differs(person, tmp_path) -> None:  # type: ignore[no-untyped-def]
    letter = cong_van(title_lines=("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), name="Lê Thị Bích")
    stranger = dataclasses.replace(person, display_name="Someone Else", position="")
    result = sign(io.BytesIO(letter), stranger, level="B-B",
                  signer_text=SignerText(("phó chủ tịch",), ("LÊ THỊ BÍCH",)))
    assert result.placement == "signature_block"
    without = sign(io.BytesIO(letter), stranger, level="B-B")
    assert without.placement == "default"


@pytest.mark.parametrize("image_size", [(300, 120), (200, 200)])  # wide: fills the width; square: the height
def test_seal_covers_the_left_third_of_the_signature_image(official, seal, tmp_path, image_size) -> None:  # type: ignore[no-untyped-def]
    official = dataclasses.replace(official, image_png=band_png(*image_size))
    signed = sign(io.BytesIO(cong_van()), official, level="B-B")
    sealed = sign(io.BytesIO(signed.data()), seal, profile="seal", level="B-B", signer_text=LETTER_SIGNER)
    assert sealed.placement == "signature_block"
    reader = PdfFileReader(io.BytesIO(sealed.data()))
    rects = {s.field_name: [float(v) for v in s.sig_field["/Rect"]] for s in reader.embedded_regular_signatures}
    px1, py1, px2, py2 = rects["Person1"]
    blue_left, blue_right = ink_extent(render_last_page(signed.data(), tmp_path), (px1, py1, px2, py2), "blue")
    img = render_last_page(sealed.data(), tmp_path)
    _, red_right = ink_extent(img, (px1 - 150, py1 - 60, px2, py2 + 60), "red")
    third = blue_left + (blue_right - blue_left) / 3
    assert abs(red_right - third) < 0.04 * (blue_right - blue_left) + 2, (red_right, blue_left, blue_right)
    left_third = (px1, py1, px1 + (px2 - px1) / 3, py2)
    right_part = (px1 + (px2 - px1) / 2, py1, px2, py2)
    assert ink(img, left_third, "red") > 100
    assert ink(img, right_part, "red") == 0  # the seal stops at the image's left third
    assert ink(img, right_part, "blue") > 50  # the signature stays legible


def test_a_letter_without_the_signer_printed_gets_the_default_place(official) -> None:  # type: ignore[no-untyped-def]
    letter = cong_van(name="Trần Văn Khác")
    assert sign(io.BytesIO(letter), official, level="B-B").placement == "default"


def test_a_box_outside_the_page_is_refused(official) -> None:  # type: ignore[no-untyped-def]
    for box in [(500, 100, 700, 200), (-50, 100, 100, 200), (100, 800, 300, 900)]:
        with pytest.raises(Unprocessable) as err:
            sign(io.BytesIO(cong_van()), official, level="B-B", appearance=Appearance(-1, box))
        assert err.value.code == ErrorCode.BOX_OUTSIDE_PAGE
    inside = sign(io.BytesIO(cong_van()), official, level="B-B", appearance=Appearance(-1, (300, 100, 500, 180)))
    assert inside.placement == "box"


def test_a_file_above_the_search_limit_is_not_read_and_keeps_the_default_place(official, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from signing import signature_block

    letter = cong_van()
    monkeypatch.setattr(signature_block, "SEARCH_MAX_BYTES", len(letter) - 1)
    assert sign(io.BytesIO(letter), official, level="B-B").placement == "default"
    monkeypatch.setattr(signature_block, "SEARCH_MAX_BYTES", len(letter))
    assert sign(io.BytesIO(letter), official, level="B-B").placement == "signature_block"


def test_a_letter_typed_with_decomposed_diacritics_is_read_too(official) -> None:  # type: ignore[no-untyped-def]
    import unicodedata

    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    letter = cong_van(name=nfd(SIGNER), title_lines=(nfd("TM. ỦY BAN NHÂN DÂN"), nfd("CHỦ TỊCH")))
    assert nfd("CHỦ TỊCH") != "CHỦ TỊCH"
    assert sign(io.BytesIO(letter), official, level="B-B").placement == "signature_block"
