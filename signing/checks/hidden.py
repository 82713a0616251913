"""Signatures hidden from the form: present in an earlier revision, gone from the final one.

An attacker who cannot forge a signature can make it disappear: a later revision drops the
field from /AcroForm (or the whole form), and a validator that looks only at the final
revision reports "no signature" for a document that was signed and then changed. Rule: the
signature dictionaries reachable in every revision, and every signature dictionary written
in the file's bytes, must still be reachable from the final revision's form.
"""
from __future__ import annotations

import bisect
import re
from typing import Any

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[")
_OBJ_HEADER = re.compile(rb"(\d{1,10})[ \t\r\n\x0c]+\d{1,5}[ \t\r\n\x0c]+obj\b")


def reachable_signature_objects(handler: Any) -> dict[int, str]:
    """Object number → field name of the signature dictionaries (/V of /Sig fields) a revision's form shows."""
    from pyhanko.sign.fields import enumerate_sig_fields

    found: dict[int, str] = {}
    for name, value, _field in enumerate_sig_fields(handler, filled_status=True):
        ref = getattr(value, "reference", None) or getattr(value, "container_ref", None)
        if ref is not None and hasattr(ref, "idnum"):
            found[ref.idnum] = name
    return found


def raw_signature_objects(data: bytes) -> set[int]:
    """Object numbers of the uncompressed objects whose bytes carry a /ByteRange."""
    headers = [(m.start(), int(m.group(1))) for m in _OBJ_HEADER.finditer(data)]
    starts = [h[0] for h in headers]
    found: set[int] = set()
    for m in _BYTE_RANGE.finditer(data):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0:
            found.add(headers[i][1])
    return found


def check(data: bytes, reader: Any, final_sig_objects: set[int]) -> tuple[list[str], list[str]]:
    """(problems, names of the hidden signature fields where an earlier revision names them)."""
    problems: list[str] = []
    seen_earlier: dict[int, str] = {}
    for rev in range(reader.xrefs.total_revisions - 1):
        try:
            seen_earlier.update(reachable_signature_objects(reader.get_historical_resolver(rev)))
        except Exception:  # noqa: BLE001 - an unreadable old revision says nothing about hiding
            continue
    gone = set(seen_earlier) - final_sig_objects
    names = sorted({seen_earlier[i] for i in gone})
    if gone:
        problems.append(f"signature(s) {', '.join(names)} of an earlier revision are no longer in the form")
    # Cheap count first: the object-header scan only runs when more /ByteRange entries are
    # written than the form shows.
    if sum(1 for _ in _BYTE_RANGE.finditer(data)) <= len(final_sig_objects):
        return problems, names
    orphans = raw_signature_objects(data) - final_sig_objects - gone
    if orphans:
        problems.append(f"signature dictionary object(s) {sorted(orphans)} are written in the file but not in the form")
    return problems, names
