"""Is the upload a usable PDF? Checked without a PDF library, before a byte is stored: a
complete file (header, final ``startxref``/``%%EOF``), not encrypted."""
from __future__ import annotations

import re
from typing import BinaryIO

from errors import ErrorCode, Unprocessable, UnsupportedMediaType
from signing import prescan
from translations import _l

HEADER_WINDOW = 1024  # PDF 1.7 §7.5.2 readers accept the header within the first 1024 bytes
TAIL_WINDOW = 32 * 1024  # some producers leave padding or junk after the last %%EOF
TRAILER_SCAN_MAX = 16 * 1024 * 1024
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF")
_OBJ = re.compile(rb"\s*\d+\s+\d+\s+obj\b")


def inspect_pdf(stream: BinaryIO) -> int:
    """Check, without a PDF library, that ``stream`` is a complete, unencrypted PDF: the
    header, a final ``startxref``/``%%EOF`` pointing at a cross-reference section (or, if
    the offset is off, a classic trailer in the tail), and no ``/Encrypt`` in that trailer.
    Returns the size; leaves the stream at its start."""
    stream.seek(0)
    head = stream.read(HEADER_WINDOW)
    if b"%PDF-" not in head:
        raise not_pdf()
    size = stream.seek(0, 2)
    stream.seek(max(0, size - TAIL_WINDOW))
    tail = stream.read()
    matches = list(_STARTXREF.finditer(tail))
    damaged = Unprocessable(_l("the PDF is truncated or damaged"),
                            code=ErrorCode.PDF_DAMAGED, fields={"file": _l("incomplete PDF")})
    if not matches:
        stream.seek(0)
        raise damaged
    offset = int(matches[-1].group(1))
    trailer = b""
    if offset < size:
        stream.seek(offset)
        trailer = _trailer_at(stream.read(min(size - offset, TRAILER_SCAN_MAX)))
    if not trailer:
        # Readers rebuild a file whose startxref is off (common after a careless rewrite);
        # accept it if the tail still holds a classic trailer dictionary.
        last_startxref = matches[-1].start()
        start = tail.rfind(b"trailer", 0, last_startxref)
        trailer = tail[start:last_startxref] if start >= 0 else b""
    stream.seek(0)
    if not trailer:
        raise damaged
    if b"/Encrypt" in trailer:
        raise Unprocessable(_l("the PDF is encrypted; send it without a password"), code=ErrorCode.PDF_ENCRYPTED,
                            fields={"file": _l("encrypted PDF")})
    check_structure(stream)
    return size


def check_structure(stream: BinaryIO) -> None:
    """422 ``pdf_too_complex`` when the file declares more cross-reference entries or decode
    work than its size can hold (``signing.prescan``), before any PDF library parses it.
    Leaves the stream at its start."""
    try:
        prescan.check_stream(stream)
    except prescan.StructureRefused as exc:
        raise prescan.refusal(exc) from None


def _trailer_at(section: bytes) -> bytes:
    """The trailer dictionary of the cross-reference section ``section`` starts with (a
    classic table), or the xref stream's own dictionary; empty if it starts with neither.
    Either names /Encrypt when the file is encrypted (in a linearised file the last
    startxref points at the first-page section, whose trailer carries /Encrypt as well)."""
    if section.startswith(b"xref"):
        start = section.find(b"trailer")
        end = section.find(b"startxref", start)
        return section[start:end] if start >= 0 else b""
    if _OBJ.match(section):
        end = section.find(b"stream")
        return section[:end] if end >= 0 else b""
    return b""


def not_pdf() -> UnsupportedMediaType:
    return UnsupportedMediaType(_l("the file is not a PDF"), code=ErrorCode.NOT_PDF,
                                fields={"file": _l("a PDF is required")})


def require_pdf_header(stream: BinaryIO) -> None:
    """415 unless the stream starts like a PDF (any PDF, complete or not: the verifier judges
    the rest). Leaves the stream at its start."""
    head = stream.read(HEADER_WINDOW)
    stream.seek(0)
    if b"%PDF-" not in head:
        raise not_pdf()
