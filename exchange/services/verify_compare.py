"""For a PDF changed after it was signed: the signed revision (the bytes the last signature
covers) beside the current file, page by page, with the areas that differ outlined. Both
are drawn by ``exchange.adapters.pdf_previews`` (pdftoppm in its own process, under a time
limit); the areas come from Pillow's ``ImageChops.difference``, grouped into boxes."""
from __future__ import annotations

import io
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from exchange.adapters import pdf_previews
from signing.report import Report

if TYPE_CHECKING:  # Pillow loads with the first comparison, not with every command
    from PIL.Image import Image

DPI = 60  # as the document page's previews
MAX_PAGES = 5  # compared (each drawn under pdftoppm's time limit); later pages are not shown
COMPARE_BUDGET_S = 30.0  # all the pages of one comparison: a request never waits 2 × 5 × 20 s
CELL = 6  # px: changed pixels closer than this join one box
THRESHOLD = 40  # a pixel differs when a channel moves more than this (anti-aliasing stays below)
MARGIN = 4  # px around a box
CHANGED = frozenset({"other", "annotations", "form_filling"})
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


@dataclass(frozen=True)
class Box:
    """An outlined area, in percent of the page's width and height (the page scales on screen)."""
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class PagePair:
    number: int
    signed: bytes | None  # PNG; None: the page is not in the signed revision
    current: bytes
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class Comparison:
    pages: tuple[PagePair, ...] = field(default_factory=tuple)
    changed_pages: int = 0


def signed_revision(data: bytes) -> bytes | None:
    """The bytes the file's last complete signature covers, when the file goes on after them
    (a change appended after signing); None when it does not (nothing was appended)."""
    ends = [int(m.group(3)) + int(m.group(4)) for m in _BYTE_RANGE.finditer(data)]
    ends = [end for end in ends if 0 < end < len(data)]
    return data[:max(ends)] if ends else None


def changed_after_signing(report: Report) -> bool:
    return any(s.checks_evaluated and (s.modification in CHANGED or s.coverage == "partial")
               for s in report.signatures)


def changed_boxes(before: Image, after: Image) -> tuple[Box, ...]:
    """The areas where ``after`` differs from ``before``: changed pixels, joined on a grid of
    ``CELL`` px, each group of touching cells one box (a flood fill over the grid: Pillow
    labels no connected regions, and the grid is small — an A4 page at 60 dpi is 83×117 cells)."""
    from PIL import Image as PILImage, ImageChops

    width, height = after.size
    before = before.convert("RGB").resize((width, height)) if before.size != after.size else before.convert("RGB")
    mask = ImageChops.difference(before, after.convert("RGB")).convert("L").point(lambda v: 255 if v > THRESHOLD else 0)
    cols, rows = -(-width // CELL), -(-height // CELL)
    grid = mask.resize((cols, rows), PILImage.Resampling.BOX).point(lambda v: 255 if v else 0).load()
    assert grid is not None  # an image in memory always has its pixels
    seen: set[tuple[int, int]] = set()
    boxes: list[Box] = []
    for y0 in range(rows):
        for x0 in range(cols):
            if (x0, y0) in seen or not grid[x0, y0]:
                continue
            stack, x_min, y_min, x_max, y_max = [(x0, y0)], x0, y0, x0, y0
            seen.add((x0, y0))
            while stack:
                x, y = stack.pop()
                x_min, y_min, x_max, y_max = min(x_min, x), min(y_min, y), max(x_max, x), max(y_max, y)
                for nx in range(max(x - 1, 0), min(x + 2, cols)):
                    for ny in range(max(y - 1, 0), min(y + 2, rows)):
                        if (nx, ny) not in seen and grid[nx, ny]:
                            seen.add((nx, ny))
                            stack.append((nx, ny))
            left, top = max(x_min * CELL - MARGIN, 0), max(y_min * CELL - MARGIN, 0)
            right, bottom = min((x_max + 1) * CELL + MARGIN, width), min((y_max + 1) * CELL + MARGIN, height)
            boxes.append(Box(round(100 * left / width, 2), round(100 * top / height, 2),
                             round(100 * (right - left) / width, 2), round(100 * (bottom - top) / height, 2)))
    return tuple(boxes)


def _draw(pdf: Path, pages: int, folder: Path, stem: str, deadline: float) -> list[bytes]:
    return [pdf_previews.render_page(pdf, n, folder / f"{stem}-{n}.png", DPI,
                                     timeout=min(pdf_previews.RENDER_TIMEOUT_S, deadline - time.monotonic())
                                     ).read_bytes() for n in range(1, pages + 1)]


def compare(data: bytes) -> Comparison | None:
    """Side by side, for a file that goes on after its last signature; None when it does not,
    or when a page cannot be drawn (the report says enough then)."""
    signed = signed_revision(data)
    if signed is None:
        return None
    with tempfile.TemporaryDirectory(prefix="lienthong-compare-") as tmp:
        folder = Path(tmp)
        (folder / "signed.pdf").write_bytes(signed)
        (folder / "current.pdf").write_bytes(data)
        deadline = time.monotonic() + COMPARE_BUDGET_S  # one request's drawing, whatever the page count
        try:
            signed_count = pdf_previews.count_pages(folder / "signed.pdf")
            current_count = pdf_previews.count_pages(folder / "current.pdf")
            before = _draw(folder / "signed.pdf", min(signed_count, MAX_PAGES), folder, "signed", deadline)
            after = _draw(folder / "current.pdf", min(current_count, MAX_PAGES), folder, "current", deadline)
        except pdf_previews.PreviewFailed:
            return None
    from PIL import Image as PILImage

    pairs = []
    for n, png in enumerate(after, start=1):
        old = before[n - 1] if n <= len(before) else None
        boxes = ((Box(0, 0, 100, 100),) if old is None  # a page added after signing: all of it is new
                 else changed_boxes(PILImage.open(io.BytesIO(old)), PILImage.open(io.BytesIO(png))))
        pairs.append(PagePair(n, old, png, boxes))
    return Comparison(tuple(pairs), sum(1 for p in pairs if p.boxes))
