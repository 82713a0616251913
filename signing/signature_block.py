"""Finding the signing space of a letter in its text layer (Decree 30/2020 Appendix I).

The signature block sits at the bottom right of the last page: the authority line
("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"…), the signer's position title ("CHỦ TỊCH",
"PHÓ CHỦ TỊCH"), a blank space, then the signer's printed name. The person stamp goes in
that blank space. Text positions come from PDFium (``pypdfium2``, already used for the
visual checks): one box per character, so a title drawn in several text runs, or with
decomposed diacritics, is rebuilt here into lines before it is compared (NFC, case folded,
spaces collapsed).
"""
from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import IO

from signing.checks.visual import PDFIUM_LOCK

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]

# "thẩm quyền ký" prefixes written before a title: thay mặt, ký thay, thừa lệnh, thừa ủy quyền, quyền
AUTHORITY_PREFIX = re.compile(r"^(tm|kt|tl|tuq|q)\s*\.\s*")
MIN_SPACE_HEIGHT = 28.0  # points: less than this between title and name is no room for a signature
MAX_STAMP_HEIGHT = 110.0
STAMP_WIDTH = (120.0, 230.0)  # the person stamp's width: at least, at most
GAP = 2.0  # points kept free above the name and below the title
# PDFium loads every object a page draws, images included, when it opens the page: above this
# size (a scan, not a typed letter) the text layer is not read and the stamp takes its default
# place, so signing a large file keeps streaming it (tests/integration/signing/test_sign_memory.py)
SEARCH_MAX_BYTES = 16 * 1024 * 1024
SEGMENT_GAP = 2.5  # a horizontal gap wider than this many character heights starts another column


@dataclass(frozen=True)
class SignerText:
    """How the signer may be printed in the block: candidate titles and names (from the
    document's metadata and from the certificate), in any case and Unicode form."""
    positions: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class SigningSpace:
    page: int  # 0-based
    box: Box  # where the person stamp goes
    title_box: Box
    name_box: Box


@dataclass
class _Segment:
    """A run of characters on one line of one column; ``box`` grows with each character."""
    chars: list[tuple[str, Box]] = field(default_factory=list)
    box: Box = (0.0, 0.0, 0.0, 0.0)

    def add(self, ch: str, box: Box) -> None:
        self.chars.append((ch, box))
        self.widen(box)

    def widen(self, box: Box) -> None:
        b = self.box if len(self.chars) > 1 else box
        self.box = (min(b[0], box[0]), min(b[1], box[1]), max(b[2], box[2]), max(b[3], box[3]))

    def text(self) -> str:
        ordered = sorted(self.chars, key=lambda c: c[1][0])
        out: list[str] = []
        last_x2: float | None = None
        for ch, (x1, y1, x2, y2) in ordered:
            if last_x2 is not None and x1 - last_x2 > 0.3 * (y2 - y1):
                out.append(" ")  # words placed apart without a space character
            out.append(ch)
            last_x2 = x2
        return "".join(out)


def normalise(text: str) -> str:
    """NFC, case folded, whitespace collapsed, without trailing punctuation."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return " ".join(folded.split()).strip(" .,:;")


def _overlap(a: Box, b: Box) -> float:
    """Vertical overlap of two boxes as a share of the smaller one's height."""
    low, high = max(a[1], b[1]), min(a[3], b[3])
    smaller = min(a[3] - a[1], b[3] - b[1]) or 1.0
    return max(0.0, high - low) / smaller


def segments(chars: list[tuple[str, Box]]) -> list[_Segment]:
    """Group characters (in content order) into line segments: same line (vertical overlap)
    and close enough horizontally. A combining mark stays with the letter before it."""
    found: list[_Segment] = []
    previous: _Segment | None = None
    for ch, box in chars:
        if ch.isspace():
            ch = " "
        if unicodedata.combining(ch) and previous is not None:
            text, base = previous.chars[-1]
            union = (min(base[0], box[0]), base[1], max(base[2], box[2]), base[3])
            previous.chars[-1] = (text + ch, union)
            previous.widen(union)
            continue
        height = box[3] - box[1]
        target = None
        for seg in reversed(found[-40:]):  # lines are drawn near each other in the content stream
            sx1, _, sx2, _ = seg.box
            near = box[0] - sx2 <= SEGMENT_GAP * height and sx1 - box[2] <= SEGMENT_GAP * height
            if near and _overlap(seg.box, box) > 0.5:
                target = seg
                break
        if target is None:
            target = _Segment()
            found.append(target)
        target.add(ch, box)
        previous = target
    return found


def _wanted(signer: SignerText) -> list[str]:
    """What a line must contain to be worth its character boxes: a name, or the start of a title."""
    wanted = [normalise(n) for n in signer.names]
    wanted += [" ".join(normalise(p).split()[:2]) for p in signer.positions]
    return [w for w in wanted if w]


def _page_chars(pdf_stream: IO[bytes], page_index: int, signer: SignerText) -> list[tuple[str, Box]]:
    """The characters and boxes of the page's lines that contain a name or a title. PDFium's
    own text (one call) picks those lines; boxes are asked for them only: a page's
    characters one by one cost tens of milliseconds."""
    import pypdfium2 as pdfium

    wanted = _wanted(signer)
    start = pdf_stream.tell()
    try:
        with PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(pdf_stream)
            try:
                page = pdf[page_index if page_index >= 0 else len(pdf) + page_index]
                text_page = page.get_textpage()
                count = text_page.count_chars()
                text = text_page.get_text_range(0, count)
                if len(text) != count:  # characters outside the BMP: text and indices disagree
                    text = "".join(text_page.get_text_range(i, 1) or " " for i in range(count))
                chars: list[tuple[str, Box]] = []
                line_start = 0
                for end in [*(i for i, ch in enumerate(text) if ch == "\n"), count]:
                    line = normalise(text[line_start:end])
                    if any(w in line for w in wanted):
                        for i in range(line_start, end):
                            if text[i] in "\r\n":
                                continue  # spaces are kept: they separate words drawn in one run
                            # loose boxes: the font's ascent to descent, the same height for every
                            # letter of a line whatever its accents
                            x1, y1, x2, y2 = text_page.get_charbox(i, loose=True)
                            if x2 > x1 and y2 > y1:
                                chars.append((text[i], (x1, y1, x2, y2)))
                    line_start = end + 1
                return chars
            finally:
                pdf.close()
    finally:
        pdf_stream.seek(start)


def _is_title(text: str, positions: list[str]) -> bool:
    bare = AUTHORITY_PREFIX.sub("", text)
    for position in positions:
        if bare == position:
            return True
        # "CHỦ TỊCH" printed for a certificate titled "Chủ tịch Ủy ban nhân dân tỉnh"
        if len(bare.split()) >= 2 and position.startswith(bare + " "):
            return True
    return False


def find_in_segments(found: list[_Segment], signer: SignerText, page: int,
                     media_box: Box) -> SigningSpace | None:
    names = [n for n in (normalise(x) for x in signer.names) if n]
    positions = [p for p in (normalise(x) for x in signer.positions) if p]
    if not names or not positions:
        return None
    texts = [(normalise(seg.text()), seg.box) for seg in found]
    name_boxes = [box for text, box in texts if text in names]
    title_boxes = [box for text, box in texts if _is_title(text, positions)]
    for name_box in sorted(name_boxes, key=lambda b: b[1]):  # the lowest name first: the block ends the page
        name_cx = (name_box[0] + name_box[2]) / 2
        above = [t for t in title_boxes if t[1] > name_box[3]
                 and abs((t[0] + t[2]) / 2 - name_cx) <= max(t[2] - t[0], name_box[2] - name_box[0]) / 2 + 20]
        if not above:
            continue
        title_box = min(above, key=lambda t: t[1])  # the nearest title above the name
        # any line of the column between them ("PHÓ CHỦ TỊCH" under a matched "KT. CHỦ TỊCH")
        # bounds the space from above: the stamp never covers printed text
        between = [box for _, box in texts if box[1] > name_box[3] and box[3] <= title_box[3]
                   and box[0] < max(name_box[2], title_box[2]) and box[2] > min(name_box[0], title_box[0])]
        bottom, top = name_box[3] + GAP, min(box[1] for box in between) - GAP
        if top - bottom < MIN_SPACE_HEIGHT:
            continue
        if top - bottom > MAX_STAMP_HEIGHT:
            middle = (top + bottom) / 2
            bottom, top = middle - MAX_STAMP_HEIGHT / 2, middle + MAX_STAMP_HEIGHT / 2
        centre = (name_cx + (title_box[0] + title_box[2]) / 2) / 2
        width = max(name_box[2] - name_box[0], title_box[2] - title_box[0]) + 30
        width = min(max(width, STAMP_WIDTH[0]), STAMP_WIDTH[1])
        x1 = max(media_box[0] + 5, centre - width / 2)
        x2 = min(media_box[2] - 5, x1 + width)
        return SigningSpace(page, (x1, bottom, x2, top), title_box, name_box)
    return None


def find_signing_space(pdf_stream: IO[bytes], page: int, media_box: Box, signer: SignerText) -> SigningSpace | None:
    """The blank space between the signer's title and printed name on ``page`` (0-based),
    or None when the page has no such block (a scan without text, another layout). The
    stream's position is left where it was. Files above :data:`SEARCH_MAX_BYTES` are not read."""
    start = pdf_stream.tell()
    size = pdf_stream.seek(0, io.SEEK_END)
    pdf_stream.seek(start)
    if size > SEARCH_MAX_BYTES:
        log.info("no signing-space search in a %s-byte file (limit %s)", size, SEARCH_MAX_BYTES)
        return None
    try:
        chars = _page_chars(pdf_stream, page, signer)
    except Exception as exc:  # noqa: BLE001 - PDFium refuses what it cannot read; placement falls back
        log.info("no text layer read for the signing space: %s", type(exc).__name__)
        return None
    return find_in_segments(segments(chars), signer, page, media_box)
