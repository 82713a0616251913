"""Visible signature appearances per Decree 30/2020 (Phụ lục I).

``person``: the official's blue signature image (transparent PNG) only: the title and the
printed name are already on the letter around the signing space, so the stamp repeats
neither. ``seal``: the agency's red seal at real size (38 mm) covering about one third of
the person's signature image on its left, with the agency name and the signing time
(ISO 8601, +07:00) right under the seal, in the same column. Text goes through an embedded
OpenType font pre-subset to Latin + Vietnamese: pyHanko's default font is Latin-1 only
(Vietnamese comes out garbled), and a full font costs ~4x the signing time.
"""
from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.pdf_utils.xref import ObjectStream
from pyhanko.stamp import BaseStampStyle, StaticStampStyle, TextStampStyle

from signing.appearance import Appearance as Appearance  # re-exported: where older callers find it
from signing.appearance import Box

FONT_PATH = Path(__file__).parent / "fonts" / "NotoSans-Vietnamese.ttf"
VN_TZ = timezone(timedelta(hours=7), "ICT")
MM = 72 / 25.4
SEAL_SIZE = 38 * MM            # real size of a round seal: 35–40 mm
PERSON_SIZE = (200.0, 80.0)    # default person stamp, points
PERSON_IMAGE_MARGINS = layout.Margins(left=2, right=2, top=2, bottom=2)
PERSON_IMAGE_ASPECT = 3.0      # width/height of a signature image (`pki issue --image`: 600 x 200 px, say)
SEAL_TEXT_HEIGHT = 26.0        # three lines of 7 pt (8 pt apart) under the seal: agency name (≤ 2 lines), time
SEAL_OVERHANG = 12.0           # the text under the seal may be this much wider than the seal on each side
BLUE = (0.05, 0.15, 0.65)
RED = (0.8, 0.05, 0.1)

def iso_time(when: datetime) -> str:
    """Signing time as the seal shows it: ISO 8601 in Vietnam time, ``2026-12-02T13:14:15+07:00``."""
    return when.astimezone(VN_TZ).isoformat(timespec="seconds")


def default_person_box(media_box: Box) -> Box:
    """The signature block: bottom right of the page, right-aligned with a 35 pt margin."""
    x1, y1, x2, _ = media_box
    w, h = PERSON_SIZE
    return (x2 - 35 - w, y1 + 50, x2 - 35, y1 + 50 + h)


def person_image_box(person_box: Box, aspect: float = PERSON_IMAGE_ASPECT) -> Box:
    """Where the signature image (``aspect`` = width / height) sits inside a person stamp made
    by :func:`person_style`: centred, as large as fits."""
    x1, y1, x2, y2 = person_box
    m = PERSON_IMAGE_MARGINS
    area_w, area_h = (x2 - x1) - m.left - m.right, (y2 - y1) - m.top - m.bottom
    w = min(area_w, area_h * aspect)
    h = w / aspect
    cx, cy = x1 + m.left + area_w / 2, y1 + m.bottom + area_h / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def seal_circle(seal_field: Box) -> Box:
    """Where the seal image sits inside a seal field made by :func:`seal_box`."""
    x1, _, x2, y2 = seal_field
    return (x1 + SEAL_OVERHANG, y2 - SEAL_SIZE, x2 - SEAL_OVERHANG, y2)


def seal_box(person_box: Box, media_box: Box, aspect: float = PERSON_IMAGE_ASPECT) -> Box:
    """Seal field box: the seal image covers the left third of the person's signature image
    (its right edge a third of the way into the image, centred on it vertically); the agency
    name and time sit right under it. Shifted right, if need be, to stay on the page."""
    ix1, iy1, ix2, iy2 = person_image_box(person_box, aspect)
    seal_right = ix1 + (ix2 - ix1) / 3
    cy = (iy1 + iy2) / 2
    x1 = seal_right - SEAL_SIZE - SEAL_OVERHANG
    shift = max(0.0, media_box[0] + 5 - x1)
    return (x1 + shift, cy - SEAL_SIZE / 2 - SEAL_TEXT_HEIGHT, seal_right + SEAL_OVERHANG + shift,
            cy + SEAL_SIZE / 2)


_SUBSETS: dict[tuple[str, frozenset[int]], bytes] = {}
_SUBSETS_MAX = 256
_STABLE_CHARS = "0123456789/:+ "  # the signing time changes every second: keep its glyphs in every subset


@lru_cache(maxsize=4)
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


class _ReusedSubsetAccumulator(GlyphAccumulator):
    """pyHanko's glyph accumulator, but the fontTools subset (most of a stamp's cost) is made
    once per glyph set and reused: the same official signing again needs the same glyphs,
    since the digits of the time are always included."""

    font_key = ""  # which font file: part of the cache key

    def _extract_subset(self, options: subset.Options | None = None) -> None:
        if not self.use_raw_gids:  # CFF fonts: leave to pyHanko
            return super()._extract_subset(options)
        cmap = self.tt.getBestCmap()
        stable = {self.tt.getGlyphID(cmap[ord(c)]) for c in _STABLE_CHARS if ord(c) in cmap}
        gids = frozenset(self._glyphs) | stable
        key = (self.font_key, gids)
        data = _SUBSETS.get(key)
        if data is None:
            opts = subset.Options(layout_closure=False)
            opts.drop_tables += ["GPOS", "GDEF", "GSUB"]
            opts.retain_gids = True  # CIDs in the content stream are the font's glyph ids
            subsetter = subset.Subsetter(options=opts)
            subsetter.populate(gids=sorted(gids))
            subsetter.subset(self.tt)
            buf = io.BytesIO()
            self.tt.save(buf)
            if len(_SUBSETS) >= _SUBSETS_MAX:
                _SUBSETS.clear()
            _SUBSETS[key] = buf.getvalue()
        else:
            self.tt = TTFont(io.BytesIO(data))
            self.cidfont_obj._tt = self.tt  # the font file is written from the CID font's TTFont


@dataclass(frozen=True)
class _ReusedSubsetFactory(GlyphAccumulatorFactory):
    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: ObjectStream | None = None
                           ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        engine = _ReusedSubsetAccumulator(
            writer=writer, font_handle=io.BytesIO(_font_bytes(self.font_file)), font_size=self.font_size,
            ot_script_tag=self.ot_script_tag, ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction, bcp47_lang_code=self.bcp47_lang_code, obj_stream=obj_stream)
        engine.font_key = self.font_file
        return engine


@lru_cache(maxsize=1)
def font_factory() -> GlyphAccumulatorFactory:
    return _ReusedSubsetFactory(str(FONT_PATH), font_size=10, ot_script_tag="latn",
                                ot_language_tag="VIT ", bcp47_lang_code="vi")


@lru_cache(maxsize=64)
def _decoded(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def _image(png: bytes) -> PdfImage:
    # the decoded PNG is cached; the PdfImage is not: it remembers the writer it was last
    # embedded in, so one shared between threads could point into another thread's document
    return PdfImage(_decoded(png))


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or " "


def person_style(image_png: bytes | None, name: str) -> BaseStampStyle:
    """The blue signature image alone, centred at its own aspect ratio. Without an image (a
    remote signer's certificate we hold no image for) the printed name stands in, so the
    signature is still visible where it was made."""
    if not image_png:
        return TextStampStyle(
            stamp_text=_wrap(name, 40),
            text_box_style=TextBoxStyle(font=font_factory(), font_size=9, leading=11, text_color=BLUE),
            inner_content_layout=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID),
            border_width=0)
    return StaticStampStyle(
        background=_image(image_png), background_opacity=1.0, border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
            margins=PERSON_IMAGE_MARGINS, inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT))


def seal_style(agency_name: str, image_png: bytes | None) -> TextStampStyle:
    """The red seal at real size on top; the agency name and the time (``%(time)s``)
    centred right under it, in the seal's own column."""
    name = textwrap.wrap(agency_name, 36, max_lines=2, placeholder="…") or [" "]
    text = "\n".join([*name, "%(time)s"])
    return TextStampStyle(
        stamp_text=text,
        text_box_style=TextBoxStyle(font=font_factory(), font_size=7, leading=8, text_color=RED,
                                    # no padding around the lines (pyHanko's default is 10 pt): they
                                    # start right under the seal
                                    box_layout_rule=layout.SimpleBoxLayoutRule(
                                        x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MAX,
                                        margins=layout.Margins.uniform(0))),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(top=SEAL_SIZE + 1)),  # type: ignore[arg-type]  # the band under the seal
        background=_image(image_png) if image_png else None,
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(left=SEAL_OVERHANG, right=SEAL_OVERHANG,  # type: ignore[arg-type]  # as above
                                   bottom=SEAL_TEXT_HEIGHT),  # type: ignore[arg-type]
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT),
        border_width=0,
    )


def text_params(name: str, when: datetime) -> dict[str, str]:
    return {"name": name, "time": iso_time(when)}
