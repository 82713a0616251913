"""The light PDF inspection before a byte is stored (no database, no app)."""
from __future__ import annotations

import io

import pytest

from errors import Unprocessable, UnsupportedMediaType
from exchange.services.pdf_check import inspect_pdf
from tests import hostile_pdfs
from tests.exchange_fixtures import encrypted_pdf, make_pdf
from translations import translate


def test_a_pdf_passes_and_the_stream_is_rewound():
    pdf = make_pdf()
    stream = io.BytesIO(pdf)
    assert inspect_pdf(stream) == len(pdf)
    assert stream.tell() == 0


def test_a_pdf_with_an_xref_stream_passes():
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    out = io.BytesIO()
    writer = IncrementalPdfFileWriter(io.BytesIO(make_pdf()))
    writer.write(out)
    inspect_pdf(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("data", [b"", b"hello world", b"PK\x03\x04zipfile", b"\x89PNG\r\n\x1a\n"])
def test_not_a_pdf_is_415(data):
    with pytest.raises(UnsupportedMediaType):
        inspect_pdf(io.BytesIO(data))


@pytest.mark.parametrize("cut", [10, 200, 500])
def test_truncated_pdfs_are_422(cut):
    with pytest.raises(Unprocessable) as err:
        inspect_pdf(io.BytesIO(make_pdf()[:-cut]))
    fields = err.value.fields or {}
    assert {name: translate(text, "vi") for name, text in fields.items()} == {"file": "PDF không trọn vẹn"}
    assert translate(fields["file"], "en") == "incomplete PDF"


def test_a_wrong_startxref_is_forgiven_when_a_trailer_is_there():
    # readers rebuild such files; the classic trailer in the tail still says "not encrypted"
    pdf = make_pdf().replace(b"startxref\n", b"startxref\n9")
    inspect_pdf(io.BytesIO(pdf))
    encrypted = encrypted_pdf()
    wrong = encrypted.replace(b"startxref\n", b"startxref\n9")
    with pytest.raises(Unprocessable) as err:
        inspect_pdf(io.BytesIO(wrong))
    assert err.value.code == "pdf_encrypted"


def _xref_stream_pdf() -> bytes:
    from pyhanko.pdf_utils.writer import PdfFileWriter

    out = io.BytesIO()
    PdfFileWriter(stream_xrefs=True).write(out)
    return out.getvalue()


def test_an_xref_stream_pdf_passes_and_a_wrong_offset_without_trailer_is_422():
    pdf = _xref_stream_pdf()
    assert b"trailer" not in pdf
    inspect_pdf(io.BytesIO(pdf))
    with pytest.raises(Unprocessable):
        inspect_pdf(io.BytesIO(pdf.replace(b"startxref\n", b"startxref\n1")))


def test_junk_after_the_last_eof_is_tolerated():
    inspect_pdf(io.BytesIO(make_pdf() + b"\0" * 4000))


def test_an_encrypted_pdf_is_422():
    with pytest.raises(Unprocessable) as err:
        inspect_pdf(io.BytesIO(encrypted_pdf()))
    assert err.value.code == "pdf_encrypted"


@pytest.mark.parametrize("build", [hostile_pdfs.classic_xref_bomb, hostile_pdfs.xref_stream_bomb,
                                   hostile_pdfs.filter_chain_bomb, hostile_pdfs.image_bomb])
def test_structure_bombs_are_422_pdf_too_complex(build, tmp_path):
    from errors import ErrorCode

    with pytest.raises(Unprocessable) as err:
        inspect_pdf(io.BytesIO(build()))
    assert err.value.code == ErrorCode.PDF_TOO_COMPLEX
    # a spooled upload on disk is mapped rather than read
    path = tmp_path / "upload.pdf"
    path.write_bytes(build())
    with path.open("rb") as f, pytest.raises(Unprocessable):
        inspect_pdf(f)
