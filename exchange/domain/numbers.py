"""Whole numbers read from text a caller wrote (a cursor, a year, a typed register number):
ASCII digits only — "²" is a digit to ``str.isdigit()`` but not to ``int()`` — and no more
than a BIGINT column holds."""
from __future__ import annotations

MAX_DIGITS = 18


def whole_number(text: str | None) -> int | None:
    """``text`` as a non-negative int, or None when it is not one (empty, another character,
    more than 18 digits)."""
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
