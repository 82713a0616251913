"""A cheap look at a PDF's declared structure before any PDF library parses it.

pyHanko (and PDFium) believe what a file declares: a cross-reference subsection
``0 5000000``, an xref stream whose ``/Index`` or ``/Size`` names millions of entries, a
filter chain of fifty ``/FlateDecode``, a predictor over a million columns, an image of
100 000 × 100 000 pixels. A few-KB file can so make a parser loop for minutes or allocate
gigabytes. This module reads only the bytes (regular expressions over the uncompressed
parts, no decompression), in time linear in the file size, and refuses such declarations
relative to the file's size:

- cross-reference entries: every object needs bytes in the file (at least a couple inside
  a compressed object stream), so more entries than ``max(MIN_ENTRIES, size / BYTES_PER_ENTRY)``
  cannot all be real;
- decode limits: at most ``MAX_FILTERS`` filters per stream, predictor ``/Columns`` and
  ``/Colors`` within sane bounds, ``/Width × /Height`` of an image within ``MAX_IMAGE_PIXELS``,
  a stream ``/Length`` no larger than the file.

Dictionaries inside compressed object streams are not seen here; what they declare is
bounded by the worker process's deadline and memory limit (``signing.isolation``).
"""
from __future__ import annotations

import mmap
import re
from dataclasses import dataclass
from typing import IO, Iterator

from errors import ErrorCode, Unprocessable
from translations import _l

MIN_ENTRIES = 20_000
BYTES_PER_ENTRY = 2
MAX_FILTERS = 4
MAX_PREDICTOR_COLUMNS = 1 << 16
MAX_PREDICTOR_COLORS = 32
MAX_IMAGE_PIXELS = 200_000_000
MAX_BITS_PER_COMPONENT = 16

# ``xref`` then an end of line, searched from its "r": re's literal-prefix search runs at
# ~3 GB/s while the first letter is rare, and an "x" is not (the bench's filler is lines of
# "x": searching from "x" stopped at every byte, ~5x slower, issue 13 item 4). The look-behinds
# after the "r" (the "x"; before it the file's start or a white-space byte, so not the tail of
# "startxref") keep that search and run in C: a flood of "ref" costs no Python step. "ref…\n"
# holds no "r" after its first byte, so the hits are exactly the old pattern's matches, one
# byte later (tests/unit/signing/test_prescan.py compares them).
_CLASSIC_XREF_TAIL = re.compile(rb"r(?<=xr)(?<![^ \t\r\n\x0c\x00]xr)ef[ \t]*\r?\n")
_SUBSECTION = re.compile(rb"[ \t]*(\d{1,12})[ \t]+(\d{1,12})[ \t]*\r?\n")
_ENTRY_LINE = 18  # ISO 32000-1 §7.5.4 says 20 bytes; some producers write 19 or 18 (one-byte EOL, no space)
_FILTER_ARRAY = re.compile(rb"/Filter\s*\[([^\]]{0,4000})\]")
_NAME = re.compile(rb"/[A-Za-z0-9]+")
_COLUMNS = re.compile(rb"/Columns\s*(\d{1,15})")
_COLORS = re.compile(rb"/Colors\s*(\d{1,15})")
_BPC = re.compile(rb"/BitsPerComponent\s*(\d{1,15})")
_WIDTH = re.compile(rb"/(?:Width|W)\s+(\d{1,15})\b")
_HEIGHT = re.compile(rb"/(?:Height|H)\s+(\d{1,15})\b")
# /Size N, /Index [...] and a direct /Length N (not "N 0 R") behind their common "/": one pass, not three
_SLASH_KEYS = re.compile(rb"/(?:Size[\s]*(?P<size>\d{1,15})|Index\s*\[(?P<index>[\d\s]{0,2000})\]"
                         rb"|Length\s+(?P<length>\d{1,15})\b(?!\s+\d+\s+R))")
_STREAM_KEYWORD = re.compile(rb">>\s*stream\r?\n")
_HEADER_WINDOW = 2048  # how far back from ``stream`` a stream's dictionary is looked for


@dataclass(frozen=True)
class Limits:
    """Tunable through settings; the defaults refuse nothing an honest producer writes."""

    min_entries: int = MIN_ENTRIES
    bytes_per_entry: int = BYTES_PER_ENTRY
    max_filters: int = MAX_FILTERS
    max_image_pixels: int = MAX_IMAGE_PIXELS

    def max_entries(self, size: int) -> int:
        return max(self.min_entries, size // max(1, self.bytes_per_entry))


class StructureRefused(ValueError):
    """The file declares more structure than its size can hold, or decode work beyond the limits."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind  # xref_entries | decode_limits | parse_budget
        self.detail = detail


def check(data: bytes | mmap.mmap, limits: Limits = Limits()) -> None:
    """Raise :class:`StructureRefused` when ``data`` declares what its size cannot hold."""
    long_length = _check_xref(data, limits)
    _check_streams(data, limits, long_length)


def _check_xref(data: bytes | mmap.mmap, limits: Limits) -> re.Match[bytes] | None:
    """Refuse what the cross-reference declarations cannot hold; the first ``/Length`` larger
    than the file (for :func:`_check_streams`), found in the same pass."""
    allowed = limits.max_entries(len(data))
    declared = 0
    first_long_length: re.Match[bytes] | None = None
    for pos in _classic_xref_tables(data):
        # subsection headers, each followed by its 20-byte entries
        while True:
            sub = _SUBSECTION.match(data, pos)
            if sub is None:
                break
            count = int(sub.group(2))
            declared += count
            if declared > allowed:
                raise StructureRefused("xref_entries", f"the cross-reference tables declare more than {allowed} "
                                                       f"entries in a file of {len(data)} bytes")
            pos = sub.end() + count * _ENTRY_LINE
            if pos > len(data):
                raise StructureRefused("xref_entries", f"a cross-reference subsection declares {count} entries "
                                                       "that the file does not hold")
    # /Size, /Index and /Length in one pass (issue 13, item 4: each pass over a 20 MB upload
    # costs ~10 ms); no match of one can hold another's start, so each sees what its own
    # ``finditer`` would. /Length is judged after the streams, as before: that order decides
    # which refusal a file with several faults gets.
    for key in _SLASH_KEYS.finditer(data):
        if key.group("size") is not None:
            value = int(key.group("size"))
            if value > allowed:
                raise StructureRefused("xref_entries", f"a trailer or xref stream declares /Size {value}; "
                                                       f"a file of {len(data)} bytes holds at most {allowed} objects")
        elif key.group("index") is not None:
            numbers = [int(n) for n in key.group("index").split()]
            total = sum(numbers[1::2])
            if total > allowed:
                raise StructureRefused("xref_entries", f"an xref stream's /Index declares {total} entries; "
                                                       f"a file of {len(data)} bytes holds at most {allowed}")
        elif first_long_length is None and int(key.group("length")) > len(data):
            first_long_length = key
    return first_long_length


def _classic_xref_tables(data: bytes | mmap.mmap) -> Iterator[int]:
    """Where each classic cross-reference table's subsections start: after every ``xref``
    keyword and its end of line (``xref[ \\t]*\\r?\\n``) that starts the file or follows a
    delimiter (not the tail of ``startxref``)."""
    return (match.end() for match in _CLASSIC_XREF_TAIL.finditer(data))


def _check_streams(data: bytes | mmap.mmap, limits: Limits, long_length: re.Match[bytes] | None) -> None:
    previous_end = 0
    # a stream takes at least "1 0 obj<</Length 0>>stream\nendstream endobj" (~40 bytes):
    # more ``stream`` keywords than that cannot all be streams, and each costs a look below
    max_streams = len(data) // 32 + 1000
    for count, match in enumerate(_STREAM_KEYWORD.finditer(data)):
        if count > max_streams:
            raise StructureRefused("decode_limits", f"more than {max_streams} stream keywords in a file of "
                                                    f"{len(data)} bytes")
        # the dictionary before ``stream``, from after the previous stream keyword at most:
        # each byte is looked at once or twice, whatever the file holds
        start = max(previous_end, match.start() - _HEADER_WINDOW)
        previous_end = match.end()
        window = data[start:match.start()]
        obj = window.rfind(b"obj")
        header = window[obj + 3:] if obj >= 0 else window
        # cheap membership tests first: most streams declare none of these
        if b"[" in header and b"/Filter" in header:
            filters = _FILTER_ARRAY.search(header)
            if filters is not None and len(_NAME.findall(filters.group(1))) > limits.max_filters:
                raise StructureRefused("decode_limits", f"a stream at byte {match.start()} chains more than "
                                                        f"{limits.max_filters} filters")
        if b"/Columns" in header or b"/Colors" in header:
            _bounded(header, _COLUMNS, MAX_PREDICTOR_COLUMNS, "predictor /Columns", match.start())
            _bounded(header, _COLORS, MAX_PREDICTOR_COLORS, "predictor /Colors", match.start())
        if b"/BitsPerComponent" in header:
            _bounded(header, _BPC, MAX_BITS_PER_COMPONENT, "/BitsPerComponent", match.start())
        if b"/Image" in header:
            width, height = _WIDTH.search(header), _HEIGHT.search(header)
            if width is not None and height is not None:
                pixels = int(width.group(1)) * int(height.group(1))
                if pixels > limits.max_image_pixels:
                    raise StructureRefused("decode_limits", f"an image at byte {match.start()} declares {pixels} "
                                                            f"pixels (limit {limits.max_image_pixels})")
    if long_length is not None:
        declared = long_length.group("length").decode()
        raise StructureRefused("decode_limits", f"a stream at byte {long_length.start()} declares /Length "
                                                f"{declared} in a file of {len(data)} bytes")


def _bounded(header: bytes, pattern: re.Pattern[bytes], limit: int, what: str, where: int) -> None:
    found = pattern.search(header)
    if found is not None and int(found.group(1)) > limit:
        raise StructureRefused("decode_limits", f"a stream at byte {where} declares {what} "
                                                f"{found.group(1).decode()} (limit {limit})")


def check_stream(stream: IO[bytes], limits: Limits = Limits()) -> None:
    """:func:`check` over a stream: a file (a spooled upload, a blob copy) is mapped, not read
    into memory. Leaves the stream at its start."""
    try:
        stream.flush()
        mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError):  # in memory (BytesIO), or an empty file
        stream.seek(0)
        data = stream.read()
        stream.seek(0)
        check(data, limits)
        return
    try:
        check(mapped, limits)
    finally:
        mapped.close()
        stream.seek(0)


def refusal(exc: StructureRefused) -> Unprocessable:
    """The 422 (``pdf_too_complex``) for a refused structure, wherever the file came in."""
    message = {"xref_entries": _l("the PDF declares more cross-reference entries than its size can hold"),
               "parse_budget": _l("reading the PDF exceeded its time or memory budget"),
               }.get(exc.kind, _l("the PDF declares decoding work beyond the allowed limits"))
    return Unprocessable(message, code=ErrorCode.PDF_TOO_COMPLEX, fields={"file": _l("abnormal PDF structure")})
