"""Where a signature's stamp goes on the page, checked: the part of ``signing.stamps`` the
HTTP layer needs to read a request, without the fonts and pyHanko that drawing it needs."""
from __future__ import annotations

from dataclasses import dataclass

from errors import Unprocessable
from translations import _l

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Appearance:
    """Where the stamp goes: ``page`` is 0-based (negative counts from the end, -1 = last page),
    ``box`` is (x1, y1, x2, y2) in PDF points from the page's lower-left corner."""
    page: int
    box: Box

    def __post_init__(self) -> None:
        try:
            x1, y1, x2, y2 = (float(v) for v in self.box)
            ok = x2 - x1 >= 20 and y2 - y1 >= 20 and min(x1, y1) >= -1e5 and max(x2, y2) <= 1e5
        except (TypeError, ValueError):
            ok = False
        if not ok or not isinstance(self.page, int):
            raise Unprocessable(_l("invalid stamp position"),
                                fields={"box": _l("(x1, y1, x2, y2) in points, at least 20 × 20")})
