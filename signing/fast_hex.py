"""pyHanko's reader, with hexadecimal strings read in one pass instead of byte by byte.

A signature's ``/Contents`` is a hex string of tens of kilobytes (the CMS blob, padded to the
room reserved for it). ``pyhanko.pdf_utils.generic.read_hex_string_from_stream`` reads it one
``stream.read(1)`` at a time through two Python generator calls per byte: about 29 ms of CPU
for the two signatures of a person + seal document, a third of what pyHanko's whole
validation of that file costs (bench/throughput.py, issue 13 item 5). Every verification and
every signature over an already signed file pays it.

``read_hex_string`` gives the same object and leaves the stream at the same place for every
input: it matches the common case, hex digits and PDF white space up to a ``>``, with one
regular expression, and hands anything else (a comment, a stray byte, the end of the stream)
to pyHanko's own function from the string's start, so that its answers and errors stay
pyHanko's. ``install()`` puts it in the place ``generic.read_object`` calls.
"""
from __future__ import annotations

import binascii
import os
import re
from typing import IO, Any

from pyhanko.pdf_utils import generic

_ORIGINAL = generic.read_hex_string_from_stream
# what pyHanko's loop accepts without a decision of its own: digits and PDF white space
_RUN = re.compile(rb"[0-9A-Fa-f \n\r\t\f\x00]*")
_WHITESPACE = re.compile(rb"[ \n\r\t\f\x00]+")
_CHUNK = 64 * 1024


def read_hex_string(stream: IO[bytes]) -> Any:
    """``generic.read_hex_string_from_stream``, fast for a string of digits and white space."""
    start = stream.tell()
    stream.read(1)  # the opening "<", as pyHanko skips it
    parts: list[bytes] = []
    while True:
        chunk = stream.read(_CHUNK)
        end = _RUN.match(chunk).end()  # type: ignore[union-attr]  # matches the empty string
        parts.append(chunk[:end])
        if end < len(chunk):
            if chunk[end:end + 1] != b">":
                break  # a comment or a byte pyHanko refuses: its own loop decides
            stream.seek(end + 1 - len(chunk), os.SEEK_CUR)  # just past the ">", where pyHanko stops
            digits = _WHITESPACE.sub(b"", b"".join(parts))
            if len(digits) % 2:
                digits += b"0"
            return generic.pdf_string(binascii.unhexlify(digits))
        if not chunk:
            break  # the stream ended inside the string: pyHanko's error
    stream.seek(start)
    return _ORIGINAL(stream)


def install() -> None:
    """Make pyHanko's object reader use ``read_hex_string`` (idempotent, process-wide)."""
    generic.read_hex_string_from_stream = read_hex_string
