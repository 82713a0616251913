"""Small PDFs that declare far more structure than they hold: the inputs of the parsing
budget (issue 11, item 7). Each is a few KB, readable up to its trailer, so only the
structure pre-scan (``signing.prescan``) or the worker's deadline stops it."""
from __future__ import annotations

import zlib

_BODY = (b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
         b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
         b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n")


def classic_xref_bomb(entries: int = 3_000_000) -> bytes:
    """A classic cross-reference table whose one subsection declares ``entries`` entries."""
    head = b"%PDF-1.7\n" + _BODY
    xref_at = len(head)
    table = b"xref\n0 %d\n0000000000 65535 f \n" % entries
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (entries, xref_at)
    return head + table + trailer


def xref_stream_bomb(entries: int = 3_000_000) -> bytes:
    """An xref stream with ``/Index [0 entries]``: its compressed zeros take a few KB."""
    head = b"%PDF-1.7\n" + _BODY
    xref_at = len(head)
    payload = zlib.compress(b"\x00" * entries, 9)
    xref = (b"4 0 obj\n<< /Type /XRef /Size %d /Index [0 %d] /W [1 0 0] /Root 1 0 R /Filter /FlateDecode "
            b"/Length %d >>\nstream\n" % (entries, entries, len(payload)) + payload + b"\nendstream\nendobj\n")
    return head + xref + b"startxref\n%d\n%%%%EOF\n" % xref_at


def _with_stream(dictionary: bytes, payload: bytes = b"x") -> bytes:
    body = _BODY + b"4 0 obj\n<< " + dictionary + b" /Length %d >>\nstream\n" % len(payload) + payload + \
        b"\nendstream\nendobj\n"
    head = b"%PDF-1.7\n" + body
    offsets, pos = [], len(b"%PDF-1.7\n")
    for chunk in body.split(b"endobj\n")[:-1]:
        offsets.append(pos)
        pos += len(chunk) + len(b"endobj\n")
    xref = b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1) + b"".join(
        b"%010d 00000 n \n" % o for o in offsets)
    return head + xref + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1, len(head))


def filter_chain_bomb(filters: int = 40) -> bytes:
    return _with_stream(b"/Filter [" + b" /FlateDecode" * filters + b"]")


def predictor_bomb() -> bytes:
    return _with_stream(b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 900000000 /Colors 3 >>")


def image_bomb() -> bytes:
    return _with_stream(b"/Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceRGB "
                        b"/BitsPerComponent 8 /Filter /FlateDecode")


def slow_xref_stream(entries: int = 400_000) -> bytes:
    """Under the pre-scan's cap (the file is padded to hold that many entries), but an xref
    stream whose every entry pyHanko reads: parsing takes seconds, not milliseconds."""
    padding = b"%" + b"p" * 1022 + b"\n"
    head = b"%PDF-1.7\n" + padding * (entries * 2 // 1024 + 1) + _BODY
    xref_at = len(head)
    payload = zlib.compress(b"\x00" * entries, 9)
    xref = (b"4 0 obj\n<< /Type /XRef /Size %d /Index [0 %d] /W [1 0 0] /Root 1 0 R /Filter /FlateDecode "
            b"/Length %d >>\nstream\n" % (entries, entries, len(payload)) + payload + b"\nendstream\nendobj\n")
    return head + xref + b"startxref\n%d\n%%%%EOF\n" % xref_at
