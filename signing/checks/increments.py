"""Incremental Saving Attack: bytes appended after a signed revision that no xref accounts for.

A PDF reader that follows cross-reference sections sees only the objects they list; many
viewers repair files and show objects that sit in the file without an xref entry. The
attack appends such objects (e.g. an update with an empty xref section, or none), so that
the validator sees the signed document while the viewer shows another. Rule: after the
first signed revision, every object header must be at an offset an xref section names,
every ``%%EOF`` must end a revision the reader knows, and nothing but whitespace may follow
the last ``%%EOF``.
"""
from __future__ import annotations

import re
from typing import Any

_OBJ_HEADER = re.compile(rb"(?:^|[\r\n])[ \t\x00\x0c]*(\d{1,10})[ \t\r\n\x0c]+(\d{1,5})[ \t\r\n\x0c]+obj\b")
_EOF = re.compile(rb"%%EOF")
_WS = b" \t\r\n\x00\x0c"


def check(data: bytes, reader: Any, after: int) -> list[str]:
    """Problems in ``data[after:]`` (the bytes written after the earliest signed revision)."""
    problems: list[str] = []
    xrefs = reader.xrefs
    known: set[int] = set()
    sections_after = 0
    for rev in range(xrefs.total_revisions):
        xdata = xrefs.get_xref_data(rev)
        for _gen, offset in xdata.standard_xrefs.values():
            known.add(_skip_ws(data, offset))
        if xdata.hybrid is not None:
            for _gen, offset in xdata.hybrid.xref_data.standard_xrefs.values():
                known.add(_skip_ws(data, offset))
        meta = xrefs.get_xref_container_info(rev)
        known.add(_skip_ws(data, meta.start_location))
        if meta.start_location >= after:
            sections_after += 1
    stray = [(m.start(1), m.group(1).decode(), m.group(2).decode())
             for m in _OBJ_HEADER.finditer(data, after) if m.start(1) not in known]
    if stray:
        where = ", ".join(f"{i} {g} obj @{pos}" for pos, i, g in stray[:5])
        problems.append(f"{len(stray)} object(s) appended after signing are in no cross-reference section: {where}")
    eofs_after = sum(1 for _ in _EOF.finditer(data, after))
    if eofs_after > sections_after:
        problems.append(f"{eofs_after} revision ends after signing but only {sections_after} cross-reference sections")
    last = data.rfind(b"%%EOF")
    if last >= 0:
        tail = data[last + 5:].strip(_WS)
        if tail:
            problems.append(f"{len(tail)} bytes follow the last %%EOF")
    return problems


def _skip_ws(data: bytes, offset: int) -> int:
    n = len(data)
    while 0 <= offset < n and data[offset] in _WS:
        offset += 1
    return offset
