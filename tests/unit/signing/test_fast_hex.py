"""signing.fast_hex reads every hex string as pyHanko does: the same object (type and bytes),
the same error, the stream left at the same place."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings, strategies as st

from signing import fast_hex
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfReadError

# the bytes that matter to either reader, and a few that do not belong in a hex string
_ALPHABET = list(b"0123456789abcdefABCDEF \n\r\t\f\x00") + list(b"%>g<()/ \xff")


def _read(reader, data: bytes):  # type: ignore[no-untyped-def]
    stream = io.BytesIO(data)
    try:
        value = reader(stream)
    except (PdfReadError, ValueError) as exc:
        return ("error", type(exc), stream.tell())
    return (type(value), value, bytes(value.original_bytes), stream.tell())


def _same(data: bytes) -> None:
    assert _read(fast_hex.read_hex_string, data) == _read(fast_hex._ORIGINAL, data)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=60), st.binary(max_size=8))
def test_any_bytes_read_alike(body: list[int], tail: bytes) -> None:
    _same(b"<" + bytes(body) + b">" + tail)
    _same(b"<" + bytes(body))  # no closing bracket: the end of the stream


@pytest.mark.parametrize("data", [
    b"<>", b"<0>", b"<ABC>", b"<4142 43\n44>rest", b"<feff00410042>",  # odd length, white space, a BOM
    b"<41 % a comment with > in it\n42>", b"<41x42>", b"<4142", b"<",
])
def test_known_cases_read_alike(data: bytes) -> None:
    _same(data)


def test_a_signature_sized_string_spanning_chunks() -> None:
    body = (b"30820a" * 9000 + b"\n") * 3 + b"0" * 50_000
    _same(b"<" + body + b">" + b" endobj")
    _same(b"<" + body + b"%" + b">")
    value = fast_hex.read_hex_string(io.BytesIO(b"<" + body + b">"))
    assert bytes(value.original_bytes) == bytes.fromhex(body.replace(b"\n", b"").decode())


def test_installed_where_pyhanko_reads_objects() -> None:
    import signing.verify  # noqa: F401  (installs it)

    assert generic.read_hex_string_from_stream is fast_hex.read_hex_string
    assert generic.read_object(io.BytesIO(b"<ff00>"), None) == generic.ByteStringObject(b"\xff\x00")
