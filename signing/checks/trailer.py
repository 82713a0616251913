"""The file as pyHanko's diff analysis sees it: only what a viewer reads from the trailer.

Some producers write private trailer entries that no viewer renders, e.g. LibreOffice's
`/AdditionalStreams [/application#2Fvnd.oasis.opendocument.text 60 0 R]`, often pointing at
an object that no revision defines (a dangling reference, null by the PDF spec). pyHanko
walks the trailer like any other dictionary, so such an entry (a) crashes the walk on the
undefined object and (b) makes a later revision that reuses the number look like it
overrides an object the signed revision "uses". Neither can change what the document shows.

So the historical views used by the diff keep only the standard trailer entries (ISO 32000-2
tables 15, 17 and 19), and a reference to an object that no revision of the file defines is
treated as null. Everything reachable from /Root (pages, their content, resources and
annotations, the form, the DSS) is analysed as before.

One more correction: pyHanko takes an object number at or above a revision's /Size as
"fresh" (nothing in that revision can point at it), and lets a fresh object that nothing new
points at through as an orphan. A dangling reference breaks that assumption: a signed page
whose /Contents names an undefined object 99 shows new ink once a later update defines 99.
So a number the revision already refers to (from /Root, not from private trailer entries)
is never fresh, and its definition must be explained like any other override.
"""
from __future__ import annotations

from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

STANDARD_TRAILER_KEYS = frozenset({
    # trailer dictionary (table 15) and hybrid-reference files (table 17)
    "/Size", "/Prev", "/Root", "/Encrypt", "/Info", "/ID", "/XRefStm",
    # cross-reference stream dictionary (table 19) and the stream keys it may carry
    "/Type", "/Index", "/W", "/Length", "/Filter", "/DecodeParms", "/F", "/FFilter", "/FDecodeParms", "/DL",
})


class StandardTrailerReader(PdfFileReader):
    """A `PdfFileReader` whose historical revisions show only the standard trailer entries."""

    def get_historical_resolver(self, revision: int) -> HistoricalResolver:
        cache = self._historical_resolver_cache
        if revision not in cache:
            cache[revision] = _StandardTrailerResolver(self, revision)
        return cache[revision]


class _StandardTrailerResolver(HistoricalResolver):
    def __init__(self, reader: PdfFileReader, revision: int) -> None:
        super().__init__(reader, revision)
        for key in [k for k in self._trailer if k not in STANDARD_TRAILER_KEYS]:
            del self._trailer[key]

    _referenced: set[generic.Reference] | None = None

    def is_ref_unassignable(self, ref: generic.Reference) -> bool:
        if not super().is_ref_unassignable(ref):
            return False
        if self._referenced is None:
            # every reference reachable from the trailer, dangling ones included (computed
            # only when a revision defines a number at or above the prior /Size)
            self._referenced = self.collect_dependencies(self.trailer_view)
        return ref not in self._referenced

    def _collect_indirect_references(self, obj: Any, seen: set, since_revision: Any = None) -> None:
        if isinstance(obj, generic.IndirectObject) and obj.reference not in seen:
            try:
                self.reader.xrefs.get_introducing_revision(obj.reference)
            except KeyError:
                return  # defined by no revision of the file: null, nothing that can change
        super()._collect_indirect_references(obj, seen, since_revision)
