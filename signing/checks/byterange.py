"""Universal Signature Forgery and Signature Wrapping: the signature's own bytes must be sane.

An honest signature dictionary has a non-empty /Contents string and a /ByteRange
``[0 a b c]`` whose gap ``[a, b)`` is exactly the hex string of this very /Contents, and whose
end ``b + c`` is the end of a revision (a ``%%EOF`` marker). Forgeries break one of these:
empty, null or absent /Contents or /ByteRange (USF), or a /ByteRange pointing the validator at
other bytes than the ones a viewer shows (Signature Wrapping).
"""
from __future__ import annotations

import re
from typing import Any

_HEX_GAP = re.compile(rb"<[0-9A-Fa-f\s]*>\Z")


def check(data: bytes, sig_object: Any, contents: bytes | None = None) -> list[str]:
    """Problems found in one signature dictionary (pyHanko `DictionaryObject`); [] when sane.

    ``contents``: the /Contents bytes as the validator read them (in an encrypted file the
    reader's raw view of the string is not the bytes on disk).
    """
    problems: list[str] = []
    raw_contents = contents if contents is not None else _as_bytes(_raw(sig_object, "/Contents"))
    if not raw_contents or not raw_contents.strip(b"\x00"):
        problems.append("/Contents is empty, null or absent")
    try:
        br = _raw(sig_object, "/ByteRange")
        br = [int(_raw_value(x)) for x in br] if br is not None else None
    except Exception:  # noqa: BLE001
        br = None
    if br is None or len(br) != 4:
        problems.append("/ByteRange is absent or not four numbers")
        return problems
    start, len1, start2, len2 = br
    if start != 0 or len1 <= 0 or len2 < 0 or start2 <= len1 or start2 + len2 > len(data):
        problems.append(f"/ByteRange {br} does not describe the file")
        return problems
    gap = data[len1:start2]
    if not _HEX_GAP.match(gap):
        problems.append("the unsigned gap of /ByteRange is not a hex string")
    elif raw_contents is not None:
        try:
            gap_bytes = bytes.fromhex(re.sub(rb"\s", b"", gap[1:-1]).decode("ascii"))
        except ValueError:
            gap_bytes = b""
        if gap_bytes.rstrip(b"\x00") != raw_contents.rstrip(b"\x00"):
            problems.append("the gap of /ByteRange does not hold this signature's /Contents")
    end = start2 + len2
    if not data[:end].rstrip(b"\r\n \t\x00").endswith(b"%%EOF"):
        problems.append("the signed bytes do not end at the end of a revision (%%EOF)")
    return problems


def _raw(dictionary: Any, key: str) -> Any:
    """The entry as written: signature /Contents is never encrypted, so no decryption proxy."""
    try:
        return _raw_value(dictionary.raw_get(key))
    except Exception:  # noqa: BLE001 - absent, or a broken reference
        return None


def _raw_value(value: Any) -> Any:
    from pyhanko.pdf_utils import generic

    if isinstance(value, generic.IndirectObject):
        value = value.get_object()
    if isinstance(value, generic.DecryptedObjectProxy):
        value = value.raw_object
    return value


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        original = value.original_bytes  # text strings keep the bytes they were read from
    except Exception:  # noqa: BLE001 - not a string at all (null, number, dictionary)
        return None
    return bytes(original) if isinstance(original, (bytes, bytearray)) else None
