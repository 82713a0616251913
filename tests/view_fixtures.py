"""Updates after signing that change what *some* viewer shows (issue 11, items 1–5).

Each builder is a general construction on top of any file signed by `tests.verify_fixtures`
(one line of Helvetica text per page at y = 700, "… 1.000.000 dong."), not a copy of a
known exploit file: an annotation shown only in print, one left for the viewer to draw,
one whose rollover/down/other-state appearance differs, a later signature widget over one
digit, optional content, a tagged form and its honest filling.
"""
from __future__ import annotations

import io
from typing import Any, Callable

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from tests.verify_fixtures import _assemble

TEXT_LINE = (60, 690, 560, 720)  # the signed text line of page 1
BLANK = (380, 380, 440, 440)  # blank paper on page 1
# "1" of "1.000.000" on page 1: x = 72 + width of "Quyet dinh so 123/QD-UBND: cap kinh phi "
# in Helvetica 14 pt (269.22 pt, from the font's AFM widths), 7.78 pt wide, baseline 700.
DIGIT = (341.2, 699.0, 349.0, 711.0)

N = generic.NameObject


def _num(*values: float) -> generic.ArrayObject:
    return generic.ArrayObject([generic.FloatObject(v) for v in values])


def update(data: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def form_xobject(w: IncrementalPdfFileWriter, width: float, height: float, ops: bytes,
                 resources: Any = None) -> generic.IndirectObject:
    stream = generic.StreamObject({N("/Type"): N("/XObject"), N("/Subtype"): N("/Form"),
                                   N("/BBox"): _num(0, 0, width, height)}, stream_data=ops)
    if resources is not None:
        stream[N("/Resources")] = resources
    return w.add_object(stream)


def cover_ops(width: float, height: float, text: bytes = b"9.000.000") -> bytes:
    """An opaque white box with other words on it: what replaces signed text."""
    return b"1 g 0 0 %.2f %.2f re f 0 g BT /Helv 12 Tf 4 8 Td (%s) Tj ET" % (width, height, text)


def helv(w: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    font = w.add_object(generic.DictionaryObject({N("/Type"): N("/Font"), N("/Subtype"): N("/Type1"),
                                                  N("/BaseFont"): N("/Helvetica")}))
    return generic.DictionaryObject({N("/Font"): generic.DictionaryObject({N("/Helv"): font})})


def _page(w: IncrementalPdfFileWriter, index: int = 0) -> Any:
    return w.root["/Pages"]["/Kids"][index]


def _append_annot(w: IncrementalPdfFileWriter, annot: generic.DictionaryObject, page_index: int = 0) -> Any:
    page = _page(w, page_index)
    annots = page["/Annots"] if "/Annots" in page else None
    arr = generic.ArrayObject([annots.raw_get(i) for i in range(len(annots))] if annots is not None else [])
    ref = w.add_object(annot)
    arr.append(ref)
    page[N("/Annots")] = arr
    w.update_container(page)
    return ref


def add_annotation(data: bytes, *, subtype: str = "/Square", rect: tuple[float, ...] = TEXT_LINE,
                   flags: int = 4, appearance: str | None = "cover", extra: dict[str, Any] | None = None,
                   page_index: int = 0) -> bytes:
    """An annotation added after signing.

    ``appearance``: "cover" — /N is an opaque box with other words; "none" — no /AP at all
    (the viewer draws it from its dictionary); "rollover"/"down" — /N draws nothing, /R or
    /D is the cover; "state" — /N has states /Off (nothing) and /On (the cover), /AS /Off;
    "many" — twelve /N states, each a short stroke.
    ``extra``: more entries (e.g. /IC interior colour, /OC).
    """
    x0, y0, x1, y1 = rect

    def change(w: IncrementalPdfFileWriter) -> None:
        width, height = x1 - x0, y1 - y0
        annot = generic.DictionaryObject({
            N("/Type"): N("/Annot"), N("/Subtype"): N(subtype), N("/Rect"): _num(*rect),
            N("/F"): generic.NumberObject(flags), N("/Contents"): generic.TextStringObject("Ghi chu"),
            N("/C"): _num(1, 1, 1)})
        if appearance != "none":
            resources = helv(w)
            cover = form_xobject(w, width, height, cover_ops(width, height), resources)
            empty = form_xobject(w, width, height, b"")
            many = generic.DictionaryObject({N(f"/S{i}"): form_xobject(w, width, height, b"0 g 0 0 m 9 9 l S")
                                             for i in range(12)})
            ap = {"cover": {N("/N"): cover}, "many": {N("/N"): many},
                  "rollover": {N("/N"): empty, N("/R"): cover},
                  "down": {N("/N"): empty, N("/D"): cover},
                  "state": {N("/N"): generic.DictionaryObject({N("/Off"): empty, N("/On"): cover})}}[appearance or "cover"]
            annot[N("/AP")] = generic.DictionaryObject(ap)
            if appearance == "state":
                annot[N("/AS")] = N("/Off")
        for key, value in (extra or {}).items():
            annot[N(key)] = value
        _append_annot(w, annot, page_index)

    return update(data, change)


def set_annotation_flags(data: bytes, flags: int) -> bytes:
    """Rewrite /F of every non-widget annotation of page 1 (the page written again too)."""

    def change(w: IncrementalPdfFileWriter) -> None:
        page = _page(w)
        annots = page["/Annots"]
        for i in range(len(annots)):
            annot = annots.raw_get(i).get_object()
            if annot.get("/Subtype") != "/Widget":
                annot[N("/F")] = generic.NumberObject(flags)
                w.update_container(annot)
        page[N("/Annots")] = generic.ArrayObject([annots.raw_get(i) for i in range(len(annots))])
        w.update_container(page)

    return update(data, change)


def add_empty_signature_field(data: bytes, rect: tuple[float, ...], ops: bytes, name: str = "Sig9") -> bytes:
    """A new, unsigned signature field whose widget appearance is ``ops`` (drawn in ``rect``)."""
    x0, y0, x1, y1 = rect

    def change(w: IncrementalPdfFileWriter) -> None:
        ap = form_xobject(w, x1 - x0, y1 - y0, ops, helv(w))
        page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
        field = generic.DictionaryObject({
            N("/Type"): N("/Annot"), N("/Subtype"): N("/Widget"), N("/FT"): N("/Sig"),
            N("/T"): generic.TextStringObject(name), N("/Rect"): _num(*rect), N("/F"): generic.NumberObject(4),
            N("/P"): page_ref, N("/AP"): generic.DictionaryObject({N("/N"): ap})})
        ref = _append_annot(w, field)
        form = w.root["/AcroForm"]
        form["/Fields"].append(ref)
        w.update_container(form) if isinstance(w.root.raw_get("/AcroForm"), generic.IndirectObject) else w.update_root()

    return update(data, change)


def one_digit_ops(rect: tuple[float, ...], digit: tuple[float, ...] = DIGIT, text: bytes = b"9") -> bytes:
    """Transparent everywhere in ``rect`` except over one digit: white it out, write another."""
    dx, dy = digit[0] - rect[0], digit[1] - rect[1]
    return b"1 g %.2f %.2f %.2f %.2f re f 0 g BT /Helv 14 Tf %.2f %.2f Td (%s) Tj ET" % (
        dx, dy, digit[2] - digit[0], digit[3] - digit[1], dx, dy + 1, text)


# --- optional content ----------------------------------------------------------------------

def with_layer(data: bytes, *, on: bool) -> bytes:
    """Before signing: give the document one optional-content group "Lop", ``on`` or off by default."""

    def change(w: IncrementalPdfFileWriter) -> None:
        ocg = w.add_object(generic.DictionaryObject({N("/Type"): N("/OCG"), N("/Name"): generic.TextStringObject("Lop")}))
        w.root[N("/OCProperties")] = generic.DictionaryObject({
            N("/OCGs"): generic.ArrayObject([ocg]),
            N("/D"): generic.DictionaryObject({N("/ON" if on else "/OFF"): generic.ArrayObject([ocg])})})
        w.update_root()

    return update(data, change)


def layer_ref(data: bytes) -> generic.IndirectObject:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(data), strict=False).root["/OCProperties"].raw_get("/OCGs").raw_get(0)


def switch_layers(data: bytes, *, on: bool) -> bytes:
    """After signing: the default configuration switches the group on or off."""

    def change(w: IncrementalPdfFileWriter) -> None:
        props = w.root["/OCProperties"]
        props[N("/D")] = generic.DictionaryObject({N("/ON" if on else "/OFF"): props.raw_get("/OCGs")})
        w.update_root()

    return update(data, change)


# --- a tagged form ----------------------------------------------------------------------------

def tagged_form_pdf(text: str = "Quyet dinh so 123/QD-UBND: cap kinh phi 1.000.000 dong.", *,
                    linked: bool = True) -> bytes:
    """A tagged PDF (structure tree: Document → P with the text, Form with the field's widget)
    with an empty text field on blank paper, as an office suite exports a form
    (``linked=False``: the widget has no /StructParent yet)."""
    stream = b"/P <</MCID 0>> BDC BT /F1 14 Tf 72 700 Td (%s) Tj ET EMC" % text.encode("latin-1")
    objs: dict[int, bytes] = {
        1: (b"<< /Type /Catalog /Pages 2 0 R /MarkInfo << /Marked true >> /StructTreeRoot 20 0 R"
            b" /AcroForm << /Fields [9 0 R] /DR << /Font << /F1 3 0 R >> >> /DA (/F1 12 Tf 0 g) >> >>"),
        2: b"<< /Type /Pages /Kids [10 0 R] /Count 1 >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        8: b"<< /Type /XObject /Subtype /Form /BBox [0 0 500 30] /Length 0 >>\nstream\n\nendstream",
        9: (b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /Rect [60 300 560 330] /F 4 /P 10 0 R"
            b" /DA (/F1 14 Tf 0 g) /AP << /N 8 0 R >>%s >>" % (b" /StructParent 1" if linked else b"")),
        10: (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
             b" /Contents 11 0 R /Annots [9 0 R] /StructParents 0 /Tabs /S >>"),
        11: b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        20: b"<< /Type /StructTreeRoot /K [21 0 R] /ParentTree 24 0 R /ParentTreeNextKey 2 >>",
        21: b"<< /Type /StructElem /S /Document /P 20 0 R /K [22 0 R 23 0 R] >>",
        22: b"<< /Type /StructElem /S /P /P 21 0 R /Pg 10 0 R /K 0 >>",
        23: b"<< /Type /StructElem /S /Form /P 21 0 R /Pg 10 0 R /K [<< /Type /OBJR /Obj 9 0 R >>] >>",
        24: b"<< /Nums [0 [22 0 R] 1 23 0 R] >>",
    }
    return _assemble(objs)


def fill_tagged_form(data: bytes, value: str = "Nguyen Van A", *, names: dict[str, Any] | None = None) -> bytes:
    """What an honest filler of a tagged form writes: the value and its appearance, the
    form's /NeedAppearances, the Form element's /ActualText and the structure tree's
    bookkeeping. ``names``: also give the catalog a /Names dictionary (e.g. EmbeddedFiles)."""

    def change(w: IncrementalPdfFileWriter) -> None:
        form = w.root["/AcroForm"]
        field_ref = form["/Fields"].raw_get(0)
        field = field_ref.get_object()
        resources = generic.DictionaryObject({N("/Font"): generic.DictionaryObject({
            N("/F1"): form["/DR"]["/Font"].raw_get("/F1")})})
        field[N("/V")] = generic.TextStringObject(value)
        field[N("/StructParent")] = generic.NumberObject(1)  # links it when the producer did not
        field[N("/AP")] = generic.DictionaryObject({N("/N"): form_xobject(
            w, 500, 30, b"/Tx BMC BT /F1 14 Tf 0 g 4 9 Td (%s) Tj ET EMC" % value.encode(), resources)})
        w.update_container(field)
        form[N("/NeedAppearances")] = generic.BooleanObject(True)
        tree = w.root["/StructTreeRoot"]
        tree[N("/ParentTreeNextKey")] = generic.NumberObject(2)
        w.update_container(tree)
        form_elem = tree["/K"][0]["/K"][1]
        form_elem[N("/ActualText")] = generic.TextStringObject(value)
        w.update_container(form_elem)
        parent_tree = tree["/ParentTree"]
        parent_tree[N("/Nums")] = generic.ArrayObject(list(parent_tree["/Nums"]))
        w.update_container(parent_tree)
        if names:
            w.root[N("/Names")] = generic.DictionaryObject({N(k): v(w) for k, v in names.items()})
        w.update_root()

    return update(data, change)


def embedded_file_tree(w: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    ef = w.add_object(generic.StreamObject({N("/Type"): N("/EmbeddedFile")}, stream_data=b"so tien that: 9.000.000"))
    spec = w.add_object(generic.DictionaryObject({N("/Type"): N("/Filespec"), N("/F"): generic.TextStringObject("a.txt"),
                                                  N("/EF"): generic.DictionaryObject({N("/F"): ef})}))
    return generic.DictionaryObject({N("/Names"): generic.ArrayObject([generic.TextStringObject("a.txt"), spec])})


def javascript_tree(w: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    action = w.add_object(generic.DictionaryObject({N("/S"): N("/JavaScript"),
                                                    N("/JS"): generic.TextStringObject("app.alert('x')")}))
    return generic.DictionaryObject({N("/Names"): generic.ArrayObject([generic.TextStringObject("init"), action])})


def set_field_flags(data: bytes, flags: int) -> bytes:
    """Rewrite the annotation flags (/F) of the form's first text field's widget."""

    def change(w: IncrementalPdfFileWriter) -> None:
        fields = w.root["/AcroForm"]["/Fields"]
        for i in range(len(fields)):
            field = fields.raw_get(i).get_object()
            if field.get("/FT") == "/Tx":
                field[N("/F")] = generic.NumberObject(flags)
                w.update_container(field)
                return

    return update(data, change)
