"""Agency codes (mã định danh, QCVN 102:2016 form ``LLL.KK.JJ.Xnn``)."""
from __future__ import annotations

import re

CODE_MAX = 35
# Dot-separated groups of digits and capitals. Later amendments add groups, so the number of
# groups is not fixed; empty groups are not allowed.
_CODE = re.compile(r"^[0-9A-Z]+(\.[0-9A-Z]+)+$")


def code_problem(code: object) -> str | None:
    """Why ``code`` is not a well-formed agency code, or None."""
    if not isinstance(code, str) or not code:
        return "mã định danh trống / code is empty"
    if len(code) > CODE_MAX:
        return f"mã định danh dài quá {CODE_MAX} ký tự / code longer than {CODE_MAX} characters"
    if not _CODE.match(code):
        return ("mã định danh phải theo dạng QCVN 102, ví dụ 000.00.00.H62 / code must be in the "
                "QCVN 102 form (digits, A–Z and dots), e.g. 000.00.00.H62")
    return None
