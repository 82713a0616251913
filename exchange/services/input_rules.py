"""The general defence against hostile input, shared by every schema and JSON reader: a
strict JSON loader and strict field types.

What Python's parsers accept but the service must not: integers beyond what the database
columns hold (PostgreSQL ``integer`` is 32 bits: a larger id would fail in the driver, a
500), digits of other scripts (``int("١٢") == 12``: another spelling of an id), underscores
in numbers (``int("1_000")``), NUL bytes (PostgreSQL text refuses them), lone surrogates
(cannot be encoded as UTF-8), NaN and infinities, and nesting deep enough to exhaust the
parser's recursion (a RecursionError, a 500).
"""
from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any, Mapping

from marshmallow import ValidationError, fields
from marshmallow.validate import Range, Regexp

from translations import Message, _l

DB_INT_MIN, DB_INT_MAX = -(2 ** 31), 2 ** 31 - 1  # sa.Integer: PostgreSQL int4, the narrowest of our databases
JSON_INT_BITS = 64  # any JSON number: larger ones are refused before a schema sees them
JSON_MAX_DEPTH = 32  # no request of ours nests deeper than a few levels
_ASCII_INT = re.compile(r"[+-]?[0-9]{1,19}")
_ASCII_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?")
# C0 controls but tab, newline and carriage return; NUL among them; lone surrogates
_FORBIDDEN_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# what the OpenAPI document says of every String: the same rule, surrogates left out (JSON
# text and UTF-8 query strings cannot carry a lone one)
ALLOWED_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
_STRING_LITERAL = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class HostileJSON(ValueError):
    """JSON the service refuses; ``reason`` says why in the reader's language. ``malformed``:
    not JSON at all (a syntax or encoding error), rather than well-formed JSON refused."""

    def __init__(self, reason: Message, *, malformed: bool = False) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.malformed = malformed


def forbidden_character(text: str) -> bool:
    """A NUL or other control character (but tab and line breaks), or a lone surrogate."""
    return _FORBIDDEN_CHAR.search(text) is not None


def _depth(raw: bytes) -> int:
    """How deep the brackets nest, strings left out: counted before parsing, since the
    parser itself would recurse once per level."""
    steps = (1 if b in b"[{" else -1 for b in _BRACKET.findall(_STRING_LITERAL.sub(b"", raw)))
    return max(itertools.accumulate(steps, initial=0))


def _bounded_int(text: str) -> int:
    value = int(text)
    if value.bit_length() >= JSON_INT_BITS:
        raise HostileJSON(_l("a number beyond 64 bits"))
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HostileJSON(_l("a number too large to represent"))
    return value


def _no_constant(name: str) -> Any:
    raise HostileJSON(_l("NaN and Infinity are not JSON numbers"))


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        if forbidden_character(value):
            raise HostileJSON(_l("a NUL or control character, or a lone surrogate, in a string"))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def strict_json_loads(raw: str | bytes) -> Any:
    """``json.loads`` for untrusted input: :class:`HostileJSON` for anything the service
    refuses (see the module's docstring) or that is not JSON at all."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if _depth(data) > JSON_MAX_DEPTH:
        raise HostileJSON(_l("nested deeper than %(max)s levels", max=JSON_MAX_DEPTH))
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)
    except HostileJSON:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int's digit limit
        raise HostileJSON(_l("invalid JSON: %(error)s", error=str(exc)[:200]), malformed=True) from None
    _check_strings(value)
    return value


class Integer(fields.Integer):
    """An integer the database can hold (32 bits by default), written in ASCII digits when it
    comes as text (a query string, a form field); booleans are not integers."""

    def __init__(self, *, minimum: int = DB_INT_MIN, maximum: int = DB_INT_MAX, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum
        # the OpenAPI document states the bounds this field enforces (a client, a fuzzer,
        # sends nothing it would refuse): its own, narrowed by any Range validator
        for rule in self.validators:
            if isinstance(rule, Range):
                if rule.min is not None:
                    minimum = max(minimum, int(rule.min) + (0 if rule.min_inclusive else 1))
                if rule.max is not None:
                    maximum = min(maximum, int(rule.max) - (0 if rule.max_inclusive else 1))
        self.metadata = {"minimum": minimum, "maximum": maximum, **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, str) and not _ASCII_INT.fullmatch(value)):
            raise self.make_error("invalid")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 54.0 is the JSON number 54: an integer, as JSON Schema (so the document) says
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is None:  # marshmallow's type says Optional; a loaded integer is never None here
            raise self.make_error("invalid")
        if not self.minimum <= number <= self.maximum:
            raise ValidationError([_l("must be between %(min)s and %(max)s", min=self.minimum, max=self.maximum)])
        return number


class String(fields.String):
    """Text without NUL or other control characters (tab and line breaks allowed) and
    without lone surrogates: what every database stores and every client can print."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not any(isinstance(rule, Regexp) for rule in self.validators):  # its own pattern says more
            self.metadata = {"pattern": ALLOWED_TEXT_PATTERN, **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if isinstance(text, str) and forbidden_character(text):
            raise ValidationError([_l("contains a NUL or control character, or a lone surrogate")])
        return text


class Float(fields.Float):
    """A finite number, written in ASCII when it comes as text (``float("١٢")`` is 12.0,
    ``float(" 12 ")`` too)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        if isinstance(value, bool) or (isinstance(value, str) and not _ASCII_DECIMAL.fullmatch(value)):
            raise self.make_error("invalid")
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is None or not math.isfinite(number):
            raise self.make_error("invalid")
        return number
