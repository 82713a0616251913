"""Test PDFs made with pyHanko's own writer (no extra dependency).

``make_pdf`` gives a small A4 document with text on every page; ``write_big_pdf`` streams a
PDF of a given size to disk (one large image XObject of noise) without holding it in memory.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

A4 = (0, 0, 595.28, 841.89)


def make_pdf(pages: int = 3, title: str = "CONG VAN so 123/UBND-VP", *, password: str | None = None) -> bytes:
    """A small A4 PDF (Helvetica, not embedded) with a heading and some lines per page
    (encrypted with ``password`` as owner and user password when given)."""
    w = PdfFileWriter()
    font = w.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
        pdf_name("/BaseFont"): pdf_name("/Helvetica"), pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding")}))
    for n in range(1, pages + 1):
        lines = [f"BT /F1 16 Tf 72 770 Td ({title} - trang {n}/{pages}) Tj ET"]
        lines += [f"BT /F1 11 Tf 72 {730 - 16 * i} Td (Dong {i + 1}: noi dung van ban hanh chinh.) Tj ET"
                  for i in range(30)]
        stream = generic.StreamObject(stream_data="\n".join(lines).encode("latin-1"))
        resources = generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})})
        w.insert_page(PageObject(contents=w.add_object(stream), media_box=A4, resources=resources))
    if password is not None:
        w.encrypt(password, password)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def write_big_pdf(path: Path, size_mb: int) -> Path:
    """Write a one-page PDF of about ``size_mb`` MB by hand, streaming the image bytes to disk."""
    side = int((size_mb * 1024 * 1024 / 3) ** 0.5)
    length = side * side * 3
    offsets: list[int] = []
    with open(path, "wb") as f:
        def obj(body: bytes) -> None:
            offsets.append(f.tell())
            f.write(b"%d 0 obj\n" % (len(offsets)) + body + b"\nendobj\n")

        f.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        obj(b"<< /Type /Catalog /Pages 2 0 R >>")
        obj(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        obj(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] "
            b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>")
        content = b"q 400 0 0 400 97 300 cm /Im1 Do Q"
        obj(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        offsets.append(f.tell())
        f.write(b"5 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (side, side, length))
        chunk = os.urandom(1 << 20)
        left = length
        while left:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
        f.write(b"\nendstream\nendobj\n")
        xref = f.tell()
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        for off in offsets:
            f.write(b"%010d 00000 n \n" % off)
        f.write(b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s><%s>] >>\nstartxref\n%d\n%%%%EOF\n"
                % (len(offsets) + 1, os.urandom(16).hex().encode(), os.urandom(16).hex().encode(), xref))
    return path
