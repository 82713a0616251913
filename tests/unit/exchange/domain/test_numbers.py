import pytest

from exchange.domain.numbers import whole_number


@pytest.mark.parametrize("text, expected", [("0", 0), ("42", 42), ("9" * 18, int("9" * 18))])
def test_ascii_digits_are_a_number(text: str, expected: int) -> None:
    assert whole_number(text) == expected


@pytest.mark.parametrize("text", [None, "", " 1", "-1", "1.0", "²", "١٢", "9" * 19, "1e3", "+1"])
def test_anything_else_is_none(text: str | None) -> None:
    # "²" and "١٢" are digits to str.isdigit(); int() refuses the first and reads the second
    assert whole_number(text) is None
