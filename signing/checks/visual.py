"""Shadow attacks: what a page shows must not change after signing, except where allowed.

Shadow attacks (hide, replace, hide-and-replace; RUB 2020) prepare a document whose signed
revision carries hidden content and then switch what is shown with a change a structural
diff may accept as form filling. As EU DSS does, we render pages of the signed revision and
of the final file (pypdfium2, no browser) and compare them, as a viewer could show them:

- on screen and in print (PDFium's print mode honours the Print/NoView flags and the
  optional-content /Usage /Print state);
- every appearance a viewer may draw for an annotation or field added or changed after
  signing: its /N appearance for every /AS state, its rollover /R and down /D appearances,
  and the annotation drawn even where its flags (Hidden, NoView, ToggleNoView) or its /OC
  hide it now, because a viewer, a printer or a script may show it; with optional content,
  both revisions are also compared with every layer on (a reader can switch layers on);
- an annotation added or changed after signing whose look is left to the viewer (no
  appearance stream: FreeText, Square, Ink, ...) is judged as the worst a viewer could
  draw from its dictionary: its whole rectangle painted. It may not lie over signed ink.

Rules, per page and per way of showing it:

1. page content without annotations must be identical;
2. with annotations drawn, pixels may differ only inside the rectangles of annotations and
   fields added or changed after signing;
3. inside those rectangles, a form field must not cover ink that the signed page content
   had (no filling a field over signed text); a comment, stamp or shape must not cover or
   erase any ink the signed page showed (annotations included), nor may a field change the
   ink of an earlier signature's appearance; a later *signature* appearance may be stamped
   over earlier signatures' appearances (Decree 30/2020 puts the seal over a third of the
   person's signature) without erasing any of their ink, and must not change one pixel of
   any other signed ink (the Sneaky Signature Attack, however small).

Only pages that a later revision can change are rendered: a page none of whose objects
(content, resources, annotations, inherited attributes) was written after signing, in a
document whose optional content and form defaults did not change, renders as it did.
Those pages are compared up to ``max_pages``; more is reported, never skipped silently.

Pixel differences are thresholded, not exact, so anti-aliasing cannot trigger a finding.
"""
from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from gevent import monkey

_SCALE = 1.0  # 72 dpi: every glyph change shows, a 3-page document renders in ~30 ms
_DIFF = 48  # grey levels: a change smaller than this is anti-aliasing, not content
_INK = 160  # grey level under which a pixel of the signed page counts as ink
_PAD = 2  # pixels around each allowed rectangle
DEFAULT_MAX_PAGES = 100  # pages rendered per signature (a setting: LIENTHONG_VERIFY_MAX_RENDERED_PAGES)
_MAX_SIDE = 2000  # pixels: bound on a rendered page's longer side
_MAX_VARIANTS = 8  # alternative appearances rendered per signature; more is reported as not compared
_MAX_WALK = 20_000  # objects visited from one page when looking for later changes

# Annotation flags (ISO 32000-1, 12.5.3) that keep an annotation off the screen or paper.
_INVISIBLE, _HIDDEN, _PRINT, _NOVIEW, _TOGGLE_NOVIEW = 1, 2, 4, 32, 256
_HIDING_FLAGS = _INVISIBLE | _HIDDEN | _NOVIEW | _TOGGLE_NOVIEW
# AcroForm entries that change how every widget is drawn.
_FORM_DEFAULTS = ("/DR", "/DA", "/Q", "/NeedAppearances", "/XFA")


def _native_lock() -> Any:
    """An OS-level lock even under gevent: renders run on gevent's native thread pool."""
    if monkey.is_module_patched("threading"):
        return monkey.get_original("_thread", "allocate_lock")()
    return threading.Lock()


# PDFium is not thread-safe; one render at a time per process (also the signing-space
# search in signing.signature_block takes it).
_PDFIUM_LOCK = PDFIUM_LOCK = _native_lock()


class VisualCheckUnavailable(Exception):
    """The pages could not be rendered (PDFium busy past the deadline, or refused the file)."""


@dataclass(frozen=True)
class Area:
    page: int
    rect: tuple[float, float, float, float]
    signature: bool
    widget: bool = True  # a form field's widget; False for comments, stamps, shapes
    viewer_drawn: bool = False  # no appearance stream: its look is left to the viewer
    ref: tuple[int, int] | None = None  # (object number, generation) of the annotation


@dataclass
class Changes:
    """What a later revision may change in how the signed pages look."""

    areas: list[Area]
    pages: list[int]  # pages (0-based) of the final file that a later revision reaches
    earlier_signatures: dict[int, list[tuple[float, float, float, float]]]  # signed revision's signature widgets
    # one map per alternative way of drawing the changed annotations: annotation → appearance
    # stream to draw as /N (None: its own), all of them with hiding flags and /OC removed
    variants: list[dict[tuple[int, int], tuple[int, int] | None]] = field(default_factory=list)
    layers: bool = False  # the document has optional content: compare with every layer on too
    variants_dropped: int = 0  # alternatives past _MAX_VARIANTS
    page_count: int | None = None  # leaf pages our page-tree walk found in the final file


@dataclass
class Comparison:
    problems: list[str]
    pages_to_compare: int = 0
    pages_compared: int = 0
    incomplete: list[str] = field(default_factory=list)  # why the comparison is not complete


def changes_after(reader: Any, signed_revision: int) -> Changes:
    """The areas, pages and alternative appearances a comparison must look at."""
    later = _later_ids(reader, signed_revision)
    old_root = reader.get_historical_resolver(signed_revision).root
    old_pages = list(_pages(old_root))
    final_pages = list(_pages(reader.root))
    layers = "/OCProperties" in reader.root or "/OCProperties" in old_root
    everything = _changed_entry(old_root, reader.root, "/OCProperties", later)
    old_form, new_form = _form(old_root), _form(reader.root)
    widgets_everywhere = any(_changed_entry(old_form, new_form, key, later) for key in _FORM_DEFAULTS)

    areas: list[Area] = []
    pages: list[int] = []
    earlier: dict[int, list[tuple[float, float, float, float]]] = {}
    alternatives: dict[tuple[int, int], list[tuple[int, int]]] = {}
    forced = False
    for index, (page, ancestors) in enumerate(final_pages):
        old_annots: set[int] = set()
        if index < len(old_pages):
            old_page = old_pages[index][0]
            old_annots = {ref.idnum for ref in _annot_refs(old_page)}
            rects = [r for _ref, a in _annots(old_page) if _is_signature_widget(a) and (r := _rect(a)) is not None]
            if rects:
                earlier[index] = rects
        has_annots = False
        for ref, annot in _annots(page):
            has_annots = True
            idnum = getattr(ref, "idnum", None)
            changed = (idnum is None or idnum not in old_annots or idnum in later
                       or _appearance_changed(annot, later))
            if not changed:
                continue
            rect = _rect(annot)
            if rect is None:
                continue
            widget = annot.get("/Subtype") == "/Widget"
            key = (idnum, ref.generation) if idnum is not None else None
            alts, hidden = _alternative_appearances(annot), _hidden_somewhere(annot)
            # A direct annotation dictionary cannot be redrawn in another state by
            # `_variant`: if it has one, it is judged as its whole rectangle painted.
            unredrawable = key is None and bool(alts or hidden)
            areas.append(Area(index, rect, _is_signature_widget(annot), widget,
                              viewer_drawn=_viewer_drawn(annot) or unredrawable, ref=key))
            if key is not None:
                if alts:
                    alternatives[key] = alts
                forced = forced or hidden
        touched = (everything or (widgets_everywhere and has_annots) or bool(ancestors & later)
                   or _reaches(page, later))
        if touched:
            pages.append(index)

    changed_refs = [a.ref for a in areas if a.ref is not None]
    variants: list[dict[tuple[int, int], tuple[int, int] | None]] = []
    if changed_refs and (forced or layers or alternatives):
        variants.append(dict.fromkeys(changed_refs))
    wanted = len(variants) + max((len(v) for v in alternatives.values()), default=0)
    for k in range(min(wanted, _MAX_VARIANTS) - len(variants)):
        variants.append({ref: (alternatives[ref][k] if k < len(alternatives.get(ref, ())) else None)
                         for ref in changed_refs})
    if layers and not variants:
        variants.append({})
    return Changes(areas, pages, earlier, variants, layers, max(0, wanted - _MAX_VARIANTS), len(final_pages))


def compare(signed_pdf: bytes, final_pdf: bytes, changes: Changes, deadline: float, *,
            max_pages: int = DEFAULT_MAX_PAGES) -> Comparison:
    """Compare how the signed revision and the final file show their pages.

    ``problems`` name each page that shows something the signer did not sign; ``incomplete``
    says what could not be compared within ``max_pages`` (a caller must not read that as
    "no problem").
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not _PDFIUM_LOCK.acquire(timeout=remaining):
        raise VisualCheckUnavailable("PDFium busy past the deadline")
    docs: list[Any] = []
    try:
        signed, final = _open(signed_pdf, docs), _open(final_pdf, docs)
        n_signed, n_final = len(signed), len(final)
        result = Comparison([])
        if n_signed != n_final:
            result.problems.append(f"the signed revision has {n_signed} page(s), the final file {n_final}")
        pages = [i for i in changes.pages if i < min(n_signed, n_final)]
        if changes.page_count is not None and changes.page_count != n_final:
            # PDFium and our walk of the page tree disagree (a tree that loops or hides
            # pages): we cannot say which pages the later revisions reach, so all count.
            pages = list(range(min(n_signed, n_final)))
        result.pages_to_compare = len(pages)
        if len(pages) > max_pages:
            result.incomplete.append(f"{len(pages)} page(s) may have changed after signing; only the first "
                                     f"{max_pages} were compared (the rendering budget)")
            pages = pages[:max_pages]
        pending: dict[int, _PageState] = {}  # pages whose other appearances are still to be compared
        for index in pages:
            _check_deadline(deadline)
            problem, state = _compare_page(signed, final, changes, index)
            result.pages_compared += 1
            if problem:
                result.problems.append(f"page {index + 1}: {problem}")
            elif state is not None and changes.variants:
                pending[index] = state
        if pending:
            _compare_variants(signed_pdf, final_pdf, changes, pending, result, deadline, docs)
        if changes.variants_dropped:
            result.incomplete.append(f"{changes.variants_dropped} alternative appearance(s) past the budget of "
                                     f"{_MAX_VARIANTS} were not compared")
        return result
    finally:
        for doc in docs:
            doc.close()
        _PDFIUM_LOCK.release()


def _open(pdf: bytes, opened: list[Any]) -> Any:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(pdf)
        opened.append(doc)
        # Widgets (form fields) are drawn only with the form environment on, and a viewer
        # always draws them: the shadow "replace via overlay" lives there.
        doc.init_forms()
    except Exception as exc:  # noqa: BLE001 - PDFium refuses what it cannot read
        raise VisualCheckUnavailable(str(exc)) from exc
    return doc


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise VisualCheckUnavailable("time budget used up while rendering")


@dataclass
class _Boxes:
    field: list[tuple[int, int, int, int]]  # form fields (not signatures)
    annotation: list[tuple[int, int, int, int]]  # comments, stamps, shapes
    signature: list[tuple[int, int, int, int]]  # later signature widgets
    viewer_drawn: list[tuple[int, int, int, int]]  # annotations without appearance stream (exact rect)
    earlier_signatures: list[tuple[int, int, int, int]]  # signature widgets of the signed revision

    def moved(self, dx: int, dy: int) -> "_Boxes":
        """The same boxes in an image cropped at (-dx, -dy)."""
        def move(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
            return [(x0 + dx, y0 + dy, x1 + dx, y1 + dy) for x0, y0, x1, y1 in boxes]

        return _Boxes(move(self.field), move(self.annotation), move(self.signature), move(self.viewer_drawn),
                      move(self.earlier_signatures))


@dataclass
class _PageState:
    """What the comparison of one page's other appearances needs (small: two bitmaps)."""

    s_content: Any
    reference: Any  # the signed page with annotations, screen
    boxes: _Boxes


def _compare_page(signed: Any, final: Any, changes: Changes, index: int) -> tuple[str | None, _PageState | None]:
    """Screen and print views of one page: (problem, state for the other appearances)."""
    sp, fp = signed[index], final[index]
    try:
        s_content = _render(sp, annots=False)
        f_content = _render(fp, annots=False)
        if s_content.size != f_content.size:
            return "page size changed", None
        if _differs(s_content, f_content):
            return "page content changed after signing", None
        if changes.layers and _differs(_render(sp, annots=False, printing=True),
                                       _render(fp, annots=False, printing=True)):
            return "page content changed after signing (as printed)", None
        page_areas = [a for a in changes.areas if a.page == index]
        if not page_areas and not _annotated(sp, fp):
            return None, None
        size = s_content.size
        boxes = _Boxes(
            field=[_to_pixels(fp, a.rect, size) for a in page_areas if a.widget and not a.signature],
            annotation=[_to_pixels(fp, a.rect, size) for a in page_areas if not a.widget],
            signature=[_to_pixels(fp, a.rect, size) for a in page_areas if a.signature],
            viewer_drawn=[_to_pixels(fp, a.rect, size, pad=0) for a in page_areas if a.viewer_drawn],
            earlier_signatures=[_to_pixels(sp, r, size) for r in changes.earlier_signatures.get(index, [])])
        s_full = _render(sp, annots=True)
        s_print = _render(sp, annots=True, printing=True)
        for label, before, after in (("", s_full, _render(fp, annots=True)),
                                     (" (as printed)", s_print, _render(fp, annots=True, printing=True))):
            problem = _judge(s_content, before, after, boxes)
            if problem:
                return problem + label, None
        for shown in (s_full, s_print):
            if boxes.viewer_drawn and _ink_inside(shown, boxes.viewer_drawn):
                return ("an annotation added after signing without an appearance of its own (a viewer draws it "
                        "as it likes) covers signed content"), None
        return None, (_PageState(s_content, s_full, boxes) if page_areas else None)
    finally:
        sp.close()
        fp.close()


def _compare_variants(signed_pdf: bytes, final_pdf: bytes, changes: Changes, pending: dict[int, _PageState],
                      result: Comparison, deadline: float, opened: list[Any]) -> None:
    """The final file again in each alternative appearance (`Changes.variants`), one at a
    time: each is an in-memory copy of the file, so at most one lives at once."""
    if changes.layers:
        layers_on = _open(_variant(signed_pdf, {}, True), opened)
        for index, state in pending.items():
            page = layers_on[index]
            try:
                state.reference = _render(page, annots=True)
            finally:
                page.close()
        layers_on.close()
        opened.remove(layers_on)
    for choice in changes.variants:
        _check_deadline(deadline)
        doc = _open(_variant(final_pdf, choice, changes.layers), opened)
        try:
            for index, state in list(pending.items()):
                page = doc[index]
                try:
                    problem = _judge(state.s_content, state.reference, _render(page, annots=True), state.boxes)
                finally:
                    page.close()
                if problem:
                    result.problems.append(f"page {index + 1}: {problem} (in another appearance a viewer may show)")
                    del pending[index]
        finally:
            doc.close()
            opened.remove(doc)
        if not pending:
            return


def _judge(s_content: Any, s_full: Any, f_full: Any, boxes: _Boxes) -> str | None:
    """Rules 2 and 3 for one way of showing the page (screen, print, an alternative appearance)."""
    from PIL import ImageChops, ImageDraw

    diff = _changed(ImageChops.difference(s_full, f_full))
    changed = diff.getbbox()
    if not changed:
        return None
    # Every rule below asks whether some changed pixel also is X: nothing outside the box of
    # the changed pixels can answer yes, so the rules look at that box alone (the seal's
    # rectangle, not the page: ~8 ms less per page, bench/throughput.py).
    s_content, s_full, f_full, diff = (image.crop(changed) for image in (s_content, s_full, f_full, diff))
    boxes = boxes.moved(-changed[0], -changed[1])
    outside = diff.copy()
    draw = ImageDraw.Draw(outside)
    for box in boxes.field + boxes.annotation + boxes.signature:
        draw.rectangle(box, fill=0)
    if outside.getbbox():
        return "what the page shows changed outside the fields changed after signing"
    shown_ink = _ink(s_full)
    signature_ink = _mask(diff, [_shrink(b) for b in boxes.earlier_signatures])
    signature_ink = ImageChops.multiply(signature_ink, shown_ink)  # ink of earlier signatures' appearances
    if boxes.field:
        # a field's own earlier value may change; the page's ink and signatures' ink may not
        protected = ImageChops.lighter(_ink(s_content), signature_ink)
        if ImageChops.multiply(ImageChops.multiply(diff, protected), _mask(diff, boxes.field)).getbbox():
            return "a field or annotation added after signing covers signed content"
    if boxes.annotation and ImageChops.multiply(ImageChops.multiply(diff, shown_ink),
                                                _mask(diff, boxes.annotation)).getbbox():
        return "an annotation changed after signing covers or removes signed content"
    if boxes.signature:
        later = _mask(diff, boxes.signature)
        # Any signed ink besides earlier signatures' appearances may not change at all.
        protected = ImageChops.subtract(shown_ink, signature_ink)
        if ImageChops.multiply(ImageChops.multiply(diff, protected), later).getbbox():
            return "a signature added after signing covers signed content"
        # Earlier signatures may be stamped over (the seal over a third of the person's
        # signature, Decree 30/2020), never erased: their ink must stay ink.
        erased = ImageChops.multiply(ImageChops.multiply(diff, signature_ink), _not_ink(f_full))
        if ImageChops.multiply(erased, later).getbbox():
            return "a signature added after signing covers signed content (it erases part of an earlier signature)"
    return None


def _mask(like: Any, boxes: list[tuple[int, int, int, int]]) -> Any:
    from PIL import ImageDraw

    mask = like.point(lambda _v: 0)
    draw = ImageDraw.Draw(mask)
    for box in boxes:
        draw.rectangle(box, fill=255)
    return mask


def _shrink(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The exact widget rectangle (without the allowance pad)."""
    x0, y0, x1, y1 = box
    return (x0 + _PAD, y0 + _PAD, x1 - _PAD - 1, y1 - _PAD - 1)


def _ink_inside(image: Any, boxes: list[tuple[int, int, int, int]]) -> bool:
    ink = _ink(image)
    for x0, y0, x1, y1 in boxes:
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, ink.size[0]), min(y1, ink.size[1])
        if x1 > x0 and y1 > y0 and ink.crop((x0, y0, x1, y1)).getbbox():
            return True
    return False


def _render(page: Any, *, annots: bool, printing: bool = False) -> Any:
    # A hostile MediaBox (e.g. 14400 pt square) must not become a 200-megapixel bitmap.
    width, height = page.get_size()
    scale = min(_SCALE, _MAX_SIDE / max(width, height, 1.0))
    bitmap = page.render(scale=scale, grayscale=True, draw_annots=annots, may_draw_forms=annots,
                         optimize_mode="print" if printing else None)
    return bitmap.to_pil().convert("L")


def _changed(diff: Any) -> Any:
    return diff.point(lambda v: 255 if v > _DIFF else 0)


def _differs(a: Any, b: Any) -> bool:
    from PIL import ImageChops

    return a.size != b.size or bool(_changed(ImageChops.difference(a, b)).getbbox())


def _ink(image: Any) -> Any:
    return image.point(lambda v: 255 if v < _INK else 0)


def _not_ink(image: Any) -> Any:
    return image.point(lambda v: 0 if v < _INK else 255)


def _annotated(signed_page: Any, final_page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    return bool(pdfium_c.FPDFPage_GetAnnotCount(signed_page) or pdfium_c.FPDFPage_GetAnnotCount(final_page))


def _to_pixels(page: Any, rect: tuple[float, float, float, float], size: tuple[int, int],
               pad: int = _PAD) -> tuple[int, int, int, int]:
    """PDF user-space rectangle → bitmap box, by PDFium's own transform (crop box, /Rotate, inheritance)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    xs, ys = [], []
    x0, y0, x1, y1 = rect
    for x, y in ((x0, y0), (x1, y1), (x0, y1), (x1, y0)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page, 0, 0, size[0], size[1], 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value)
        ys.append(dy.value)
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad + 1, max(ys) + pad + 1)


# --- alternative renderings: the final file with every appearance a viewer may draw -----------

def _variant(pdf: bytes, choices: dict[tuple[int, int], tuple[int, int] | None], layers_on: bool) -> bytes:
    """``pdf`` plus an in-memory update: each annotation in ``choices`` shown (hiding flags and
    /OC removed, the chosen appearance as its /N), and with ``layers_on`` every optional-content
    group on. Never written anywhere; only rendered."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for (idnum, gen), appearance in choices.items():
        annot = generic.IndirectObject(idnum, gen, w).get_object()
        if not isinstance(annot, generic.DictionaryObject):
            continue
        flags = int(annot.get("/F", 0)) if isinstance(annot.get("/F", 0), int) else 0
        annot["/F"] = generic.NumberObject((flags & ~_HIDING_FLAGS) | _PRINT)
        annot.pop("/OC", None)
        if appearance is not None:
            annot["/AP"] = generic.DictionaryObject(
                {generic.NameObject("/N"): generic.IndirectObject(appearance[0], appearance[1], w)})
            annot.pop("/AS", None)
        w.update_container(annot)
    if layers_on and "/OCProperties" in w.root:
        raw = w.root.raw_get("/OCProperties")
        props = raw.get_object()
        if isinstance(props, generic.DictionaryObject) and "/OCGs" in props:
            props["/D"] = generic.DictionaryObject({
                generic.NameObject("/BaseState"): generic.NameObject("/ON"),
                generic.NameObject("/ON"): props.raw_get("/OCGs"),
                generic.NameObject("/OFF"): generic.ArrayObject([])})
            if isinstance(raw, generic.IndirectObject):
                w.update_container(props)
            else:
                w.update_root()
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _appearance(annot: Any) -> Any:
    try:
        ap = annot.get("/AP")
        return ap.get("/N") if ap is not None else None
    except Exception:  # noqa: BLE001 - a broken /AP is no appearance
        return None


def _viewer_drawn(annot: Any) -> bool:
    """An annotation whose look is left to the viewer: no appearance stream of its own.

    Widgets are drawn by the form environment (PDFium builds their look from /DA, /MK and
    the value, as viewers do); a /Popup is the window a viewer opens to show its parent's
    text, and a /Link draws nothing by itself: those are judged by rendering alone.
    """
    return annot.get("/Subtype") not in ("/Widget", "/Popup", "/Link") and _appearance(annot) is None


def _alternative_appearances(annot: Any) -> list[tuple[int, int]]:
    """Appearance streams a viewer may draw besides the one shown now: every /N state, /R, /D."""
    try:
        ap = annot["/AP"]
        shown = _shown_ref(annot, ap)
        refs: list[tuple[int, int]] = []
        for key in ("/N", "/R", "/D"):
            if key not in ap:
                continue
            entry = ap.raw_get(key)
            resolved = entry.get_object()
            if hasattr(resolved, "data"):  # one stream
                candidates = [entry]
            elif hasattr(resolved, "items"):  # appearance states
                candidates = [resolved.raw_get(k) for k in resolved.keys()]
            else:
                continue
            for cand in candidates:
                if hasattr(cand, "idnum") and hasattr(cand.get_object(), "data"):
                    ref = (cand.idnum, cand.generation)
                    if ref != shown and ref not in refs:
                        refs.append(ref)
        return refs
    except Exception:  # noqa: BLE001 - no appearance dictionary
        return []


def _shown_ref(annot: Any, ap: Any) -> tuple[int, int] | None:
    entry = ap.raw_get("/N")
    resolved = entry.get_object()
    if hasattr(resolved, "items") and not hasattr(resolved, "data"):
        state = annot.get("/AS")
        if state is None or state not in resolved:
            return None
        entry = resolved.raw_get(state)
    return (entry.idnum, entry.generation) if hasattr(entry, "idnum") else None


def _hidden_somewhere(annot: Any) -> bool:
    """Do its flags or optional content keep it from screen or paper (where a viewer may show it)?"""
    try:
        flags = annot.get("/F", 0)
        return "/OC" in annot or (isinstance(flags, int) and bool(flags & _HIDING_FLAGS))
    except Exception:  # noqa: BLE001
        return True


# --- what a later revision reaches ------------------------------------------------------------

def _later_ids(reader: Any, signed_revision: int) -> set[int]:
    xrefs = reader.xrefs
    later: set[int] = set()
    for rev in range(signed_revision + 1, xrefs.total_revisions):
        later |= {ref.idnum for ref in xrefs.explicit_refs_in_revision(rev)}
    return later


def _reaches(start: Any, later: set[int]) -> bool:
    """Does anything ``start`` (a page) draws from refer to an object written later?

    Walks dictionaries and arrays (stream dictionaries included), not up the page tree and
    not into other pages; a walk past ``_MAX_WALK`` objects counts as yes.
    """
    seen: set[int] = set()
    stack: list[Any] = [start]
    steps = 0
    while stack:
        steps += 1
        if steps > _MAX_WALK:
            return True
        obj = stack.pop()
        idnum = getattr(obj, "idnum", None)
        if idnum is not None:
            if idnum in later:
                return True
            if idnum in seen:
                continue
            seen.add(idnum)
            try:
                obj = obj.get_object()
            except Exception:  # noqa: BLE001 - unreadable: cannot show it is unchanged
                return True
        if hasattr(obj, "raw_get") and hasattr(obj, "keys"):
            if obj is not start and obj.get("/Type") in ("/Page", "/Pages"):
                continue  # another page (an annotation's /P, a link's destination)
            stack.extend(obj.raw_get(k) for k in obj.keys() if k != "/Parent" or obj.get("/Type") != "/Page")
        elif hasattr(obj, "raw_get"):
            stack.extend(obj.raw_get(i) for i in range(len(obj)))
    return False


def _changed_entry(old: Any, new: Any, key: str, later: set[int]) -> bool:
    """Did a document-level entry (e.g. /OCProperties) change, or does it reach a later object?"""
    old_value = old.raw_get(key) if old is not None and key in old else None
    new_value = new.raw_get(key) if new is not None and key in new else None
    if old_value is None and new_value is None:
        return False
    if old_value is None or new_value is None:
        return True
    try:
        if old_value != new_value:
            return True
    except Exception:  # noqa: BLE001
        return True
    return _reaches(new_value, later)


def _form(root: Any) -> Any:
    try:
        return root["/AcroForm"] if "/AcroForm" in root else None
    except Exception:  # noqa: BLE001
        return None


# --- reading pages and annotations with pyHanko, guarded against cycles -----------------------

def _pages(root: Any) -> Iterator[tuple[Any, set[int]]]:
    """Leaf pages in order, each with the object numbers of its page-tree ancestors (whose
    inheritable attributes it draws with); a page tree that loops or explodes ends the walk."""
    seen: set[int] = set()
    stack: list[tuple[Any, frozenset[int]]] = [(root.raw_get("/Pages"), frozenset())]
    while stack and len(seen) < 100_000:
        ref, ancestors = stack.pop()
        idnum = getattr(ref, "idnum", None)
        if idnum is not None:
            if idnum in seen:
                continue
            seen.add(idnum)
        node = ref.get_object()
        if "/Kids" in node:
            kids = node["/Kids"]
            inner = ancestors | {idnum} if idnum is not None else ancestors
            stack.extend((kids.raw_get(i), inner) for i in reversed(range(len(kids))))
        else:
            yield node, set(ancestors)


def _annot_refs(page: Any) -> list[Any]:
    return [ref for ref, _annot in _annots(page) if ref is not None]


def _annots(page: Any) -> Iterator[tuple[Any, Any]]:
    """(reference or None, annotation dictionary) for each annotation of a page."""
    try:
        annots = page["/Annots"] if "/Annots" in page else None
    except Exception:  # noqa: BLE001
        return
    if annots is None or not hasattr(annots, "raw_get"):
        return
    for i in range(min(len(annots), 10_000)):
        try:
            raw = annots.raw_get(i)
            yield (raw if hasattr(raw, "idnum") else None), raw.get_object()
        except Exception:  # noqa: BLE001
            continue


def _rect(annot: Any) -> tuple[float, float, float, float] | None:
    try:
        x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
    except Exception:  # noqa: BLE001
        return None
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _is_signature_widget(annot: Any) -> bool:
    node, hops = annot, 0
    while node is not None and hops < 32:
        if node.get("/FT") == "/Sig":
            return True
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        hops += 1
    return False


def _appearance_changed(annot: Any, later: set[int]) -> bool:
    try:
        ap = annot.raw_get("/AP")
        if hasattr(ap, "idnum") and ap.idnum in later:
            return True
        ap = ap.get_object()
        for key in ("/N", "/D", "/R"):
            if key not in ap:
                continue
            entry = ap.raw_get(key)
            if hasattr(entry, "idnum"):
                if entry.idnum in later:
                    return True
                continue
            entry = entry.get_object()
            if hasattr(entry, "items") and not hasattr(entry, "data"):
                if any(getattr(entry.raw_get(k), "idnum", None) in later for k in entry):
                    return True
    except Exception:  # noqa: BLE001 - no appearance dictionary
        return False
    return False
