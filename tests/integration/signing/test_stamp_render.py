"""The Vietnamese stamp really renders: pixels in the stamp area, text back from pdftotext,
and no .notdef glyph in the embedded font subset."""
from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess

import pypdfium2 as pdfium
import pytest
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.sign import sign
from tests.pdfs import make_pdf
from tests.signing_pki import person, seal, signing_pki  # noqa: F401 (fixtures)

SAMPLE = "Nguyễn Thị Lấp Lánh Ánh – Ủy ban nhân dân tỉnh Vĩnh Long"


@pytest.fixture(scope="module")
def sealed(signing_pki, person, seal) -> bytes:  # type: ignore[no-untyped-def]
    official = dataclasses.replace(person, display_name=SAMPLE)
    first = sign(io.BytesIO(make_pdf()), official, level="B-B")
    return sign(io.BytesIO(first.data()), dataclasses.replace(seal, organization=SAMPLE), profile="seal",
                level="B-B").data()


def _widgets(data: bytes) -> dict:
    reader = PdfFileReader(io.BytesIO(data))
    return {s.field_name: s.sig_field for s in reader.embedded_regular_signatures}


def _pixels(data: bytes, rect: list[float], page_index: int = -1) -> list[tuple[int, int, int]]:
    pdf = pdfium.PdfDocument(data)
    pdf.init_forms()  # signature widgets are form fields: drawn through the form environment
    page = pdf[len(pdf) + page_index if page_index < 0 else page_index]
    scale = 2
    img = page.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
    height = page.get_height()
    x1, y1, x2, y2 = rect
    crop = img.crop((int(x1 * scale), int((height - y2) * scale), int(x2 * scale), int((height - y1) * scale)))
    raw = crop.tobytes()
    return [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]  # type: ignore[misc]


def test_stamp_areas_are_drawn_in_blue_and_red(sealed) -> None:  # type: ignore[no-untyped-def]
    widgets = _widgets(sealed)
    unsigned = make_pdf()
    for name, colour in (("Person1", "blue"), ("Seal2", "red")):
        rect = [float(v) for v in widgets[name]["/Rect"]]
        before = _pixels(unsigned, rect)
        after = _pixels(sealed, rect)
        assert sum(1 for p in before if sum(p) < 600) < len(before) * 0.01  # the area was blank
        if colour == "blue":
            inked = [p for p in after if p[2] > 120 and p[0] < 90 and p[1] < 120]
        else:
            inked = [p for p in after if p[0] > 150 and p[1] < 80 and p[2] < 90]
        assert len(inked) > len(after) * 0.02, (name, len(inked))


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_pdftotext_gives_the_vietnamese_text_back(sealed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert SAMPLE in flat  # the agency name under the seal
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", flat)  # its signing time, ISO 8601
    # the person stamp is the signature image only: neither title nor name repeated (Appendix I)
    assert "CHỦ TỊCH" not in flat.upper()


def test_person_stamp_is_the_image_alone(sealed) -> None:  # type: ignore[no-untyped-def]
    ap = _widgets(sealed)["Person1"]["/AP"]["/N"]
    resources = ap["/Resources"]
    assert "/Font" not in resources and b"TJ" not in ap.data and b"Tj" not in ap.data
    assert len(resources["/XObject"]) >= 1  # the signature image


def test_embedded_font_has_every_glyph_used(sealed) -> None:  # type: ignore[no-untyped-def]
    check_glyphs(sealed)


def test_a_reused_font_subset_still_has_every_glyph(sealed, person, seal) -> None:  # type: ignore[no-untyped-def]
    # the same agency sealing again (another time of day) takes the cached subset path
    first_sig = sign(io.BytesIO(make_pdf(2)), person, level="B-B").data()
    again = sign(io.BytesIO(first_sig), dataclasses.replace(seal, organization=SAMPLE), profile="seal",
                 level="B-B").data()
    check_glyphs(again)
    first = _widgets(sealed)["Seal2"]["/AP"]["/N"]["/Resources"]["/Font"]
    second = _widgets(again)["Seal2"]["/AP"]["/N"]["/Resources"]["/Font"]
    font_file = [next(iter(f.values())).get_object()["/DescendantFonts"][0]["/FontDescriptor"]["/FontFile2"].data
                 for f in (first, second)]
    # the same subset both times (fontTools re-stamps head.modified, so compare the glyphs)
    fonts = [TTFont(io.BytesIO(f)) for f in font_file]
    assert len(font_file[0]) == len(font_file[1])
    drawn = [{g for g in f.getGlyphOrder() if f["glyf"][g].numberOfContours} for f in fonts]
    assert drawn[0] == drawn[1] and len(drawn[0]) > 20


def check_glyphs(data: bytes) -> None:
    for name, widget in _widgets(data).items():
        ap = widget["/AP"]["/N"]
        if "/Font" not in ap["/Resources"]:
            continue  # an image-only stamp (the person's)
        fonts = ap["/Resources"]["/Font"]
        assert len(fonts) == 1
        font = next(iter(fonts.values())).get_object()
        assert font["/Subtype"] == "/Type0"
        descendant = font["/DescendantFonts"][0]
        assert descendant["/CIDToGIDMap"] == "/Identity"
        ttf = TTFont(io.BytesIO(descendant["/FontDescriptor"]["/FontFile2"].data))
        glyph_order = ttf.getGlyphOrder()
        cids = [int(h[i:i + 4], 16) for h in re.findall(rb"<([0-9a-fA-F]+)>\s*\]\s*TJ", ap.data)
                for i in range(0, len(h), 4)]
        assert cids, name
        assert 0 not in cids, f"{name}: .notdef drawn"
        assert all(c < len(glyph_order) and glyph_order[c] != ".notdef" for c in cids)
        # and the glyphs carry outlines (a subset that dropped them would draw nothing)
        glyf = ttf["glyf"]
        assert all(glyf[glyph_order[c]].numberOfContours != 0 for c in set(cids) if c != 1)  # 1 = space


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_agency_name_and_time_are_right_under_the_seal_in_its_column(sealed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from signing import stamps

    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    html = subprocess.run(["pdftotext", "-bbox", "-f", "3", "-l", "3", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    height = float(PdfFileReader(io.BytesIO(sealed)).root["/Pages"]["/Kids"][-1]["/MediaBox"][3])
    words = [(float(x1), height - float(y2), float(x2), height - float(y1), text) for x1, y1, x2, y2, text in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]
    field = tuple(float(v) for v in _widgets(sealed)["Seal2"]["/Rect"])
    cx1, cy1, cx2, _ = stamps.seal_circle(field)  # type: ignore[arg-type]
    # the stamp's words: the time, and the agency name's Vietnamese words (the page itself is ASCII)
    under = [w for w in words if "+07:00" in w[4] or not w[4].isascii()]
    assert any("+07:00" in w[4] for w in under), words
    for x1, y1, x2, y2, text in under:
        assert field[0] - 1 <= x1 and x2 <= field[2] + 1, (text, field)  # the seal's column, not another
        assert y2 <= cy1 + 1 and y1 >= field[1] - 1, (text, cy1)  # below the seal, inside the field
    assert cx1 < (field[0] + field[2]) / 2 < cx2
