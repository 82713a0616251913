"""Shadow attacks: what a page shows must not change after signing, except where allowed.

Shadow attacks (hide, replace, hide-and-replace; RUB 2020) prepare a document whose signed
revision carries hidden content and then switch what is shown with a change a structural
diff may accept as form filling. As EU DSS does, we render every page of the signed revision
and of the final file (pypdfium2, no browser) and compare:

1. page content without annotations must be identical;
2. with annotations drawn, pixels may differ only inside the rectangles of annotations and
   fields added or changed after signing;
3. inside those rectangles, a form field must not cover ink that the signed page content
   had (no filling a field over signed text); a comment, stamp or shape must not cover or
   erase any ink the signed page showed (annotations included); a later *signature* appearance may
   overlap signed ink (the Decree 30 seal over the signature block) but not hide most of it
   (the Sneaky Signature Attack).

Pixel differences are thresholded, not exact, so anti-aliasing cannot trigger a finding.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

from gevent import monkey

_SCALE = 1.0  # 72 dpi: every glyph change shows, a 3-page document renders in ~30 ms
_DIFF = 48  # grey levels: a change smaller than this is anti-aliasing, not content
_INK = 160  # grey level under which a pixel of the signed page counts as ink
_PAD = 2  # pixels around each allowed rectangle
_MAX_PAGES = 500
_MAX_SIDE = 2000  # pixels: bound on a rendered page's longer side
_SIG_COVER_SHARE = 0.5  # a later signature may cover at most half the signed ink under it
_MIN_INK = 12  # pixels: less ink than this under a signature is nothing to hide

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


def changed_areas(reader: Any, signed_revision: int) -> list[Area]:
    """Rectangles of annotations and fields added or changed after ``signed_revision``."""
    xrefs = reader.xrefs
    later: set[int] = set()
    for rev in range(signed_revision + 1, xrefs.total_revisions):
        later |= {ref.idnum for ref in xrefs.explicit_refs_in_revision(rev)}
    old_pages = list(_pages(reader.get_historical_resolver(signed_revision).root))
    areas: list[Area] = []
    for index, page in enumerate(_pages(reader.root)):
        old_annots: set[int] = set()
        if index < len(old_pages):
            old_annots = {ref.idnum for ref in _annot_refs(old_pages[index])}
        for ref, annot in _annots(page):
            idnum = getattr(ref, "idnum", None)
            changed = (idnum is None or idnum not in old_annots or idnum in later
                       or _appearance_changed(annot, later))
            if not changed:
                continue
            rect = _rect(annot)
            if rect is not None:
                areas.append(Area(index, rect, _is_signature_widget(annot), annot.get("/Subtype") == "/Widget"))
    return areas


def compare(signed_pdf: bytes, final_pdf: bytes, areas: list[Area], deadline: float) -> list[str]:
    """Problems: each names a page that shows something the signer did not sign."""
    import pypdfium2 as pdfium

    remaining = deadline - time.monotonic()
    if remaining <= 0 or not _PDFIUM_LOCK.acquire(timeout=remaining):
        raise VisualCheckUnavailable("PDFium busy past the deadline")
    try:
        try:
            signed = pdfium.PdfDocument(signed_pdf)
            final = pdfium.PdfDocument(final_pdf)
            # Widgets (form fields) are drawn only with the form environment on, and a
            # viewer always draws them: the shadow "replace via overlay" lives there.
            signed.init_forms()
            final.init_forms()
        except Exception as exc:  # noqa: BLE001 - PDFium refuses what it cannot read
            raise VisualCheckUnavailable(str(exc)) from exc
        try:
            return _compare_docs(signed, final, areas, deadline)
        finally:
            signed.close()
            final.close()
    finally:
        _PDFIUM_LOCK.release()


def _compare_docs(signed: Any, final: Any, areas: list[Area], deadline: float) -> list[str]:
    from PIL import ImageChops, ImageDraw

    problems: list[str] = []
    n_signed, n_final = len(signed), len(final)
    if n_signed != n_final:
        problems.append(f"the signed revision has {n_signed} page(s), the final file {n_final}")
    for index in range(min(n_signed, n_final, _MAX_PAGES)):
        if time.monotonic() > deadline:
            raise VisualCheckUnavailable("time budget used up while rendering")
        sp, fp = signed[index], final[index]
        try:
            s_content = _render(sp, annots=False)
            f_content = _render(fp, annots=False)
            if s_content.size != f_content.size:
                problems.append(f"page {index + 1}: page size changed")
                continue
            if _changed(ImageChops.difference(s_content, f_content)).getbbox():
                problems.append(f"page {index + 1}: page content changed after signing")
                continue
            page_areas = [a for a in areas if a.page == index]
            if not page_areas and not _annotated(sp, fp):
                continue
            s_full = _render(sp, annots=True)
            f_full = _render(fp, annots=True)
            diff = _changed(ImageChops.difference(s_full, f_full))
            if not diff.getbbox():
                continue
            outside = diff.copy()
            draw = ImageDraw.Draw(outside)
            cover_mask = diff.point(lambda _v: 0)  # form fields: must not cover signed page content
            cover_draw = ImageDraw.Draw(cover_mask)
            annot_mask = diff.point(lambda _v: 0)  # comments/stamps: must not cover or erase anything signed
            annot_draw = ImageDraw.Draw(annot_mask)
            for area in page_areas:
                box = _to_pixels(fp, area.rect, f_full.size)
                draw.rectangle(box, fill=0)
                if not area.widget:
                    annot_draw.rectangle(box, fill=255)
                elif not area.signature:
                    cover_draw.rectangle(box, fill=255)
            if outside.getbbox():
                problems.append(f"page {index + 1}: what the page shows changed outside the fields changed "
                                "after signing")
                continue
            ink = s_content.point(lambda v: 255 if v < _INK else 0)
            covered = ImageChops.multiply(diff, ink)
            if ImageChops.multiply(covered, cover_mask).getbbox():
                problems.append(f"page {index + 1}: a field or annotation added after signing covers signed content")
                continue
            shown_ink = s_full.point(lambda v: 255 if v < _INK else 0)
            if ImageChops.multiply(ImageChops.multiply(diff, shown_ink), annot_mask).getbbox():
                problems.append(f"page {index + 1}: an annotation changed after signing covers or removes "
                                "signed content")
                continue
            for area in page_areas:
                if area.signature and _mostly_covered(covered, ink, _to_pixels(fp, area.rect, f_full.size)):
                    problems.append(f"page {index + 1}: a signature added after signing covers signed content")
                    break
        finally:
            sp.close()
            fp.close()
    return problems


def _mostly_covered(covered: Any, ink: Any, box: tuple[int, int, int, int]) -> bool:
    """Does a later signature's appearance hide most of the signed ink under it?

    A seal may overlap part of a signature block (Decree 30/2020) and leave it legible; an
    opaque box over a paragraph (the Sneaky Signature Attack) changes nearly all its ink.
    """
    x0, y0, x1, y1 = box
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, ink.size[0]), min(y1, ink.size[1])
    if x1 <= x0 or y1 <= y0:
        return False
    ink_px = sum(ink.crop((x0, y0, x1, y1)).histogram()[255:])
    covered_px = sum(covered.crop((x0, y0, x1, y1)).histogram()[128:])
    return ink_px >= _MIN_INK and covered_px > _SIG_COVER_SHARE * ink_px


def _render(page: Any, *, annots: bool) -> Any:
    # A hostile MediaBox (e.g. 14400 pt square) must not become a 200-megapixel bitmap.
    width, height = page.get_size()
    scale = min(_SCALE, _MAX_SIDE / max(width, height, 1.0))
    bitmap = page.render(scale=scale, grayscale=True, draw_annots=annots, may_draw_forms=annots)
    return bitmap.to_pil().convert("L")


def _changed(diff: Any) -> Any:
    return diff.point(lambda v: 255 if v > _DIFF else 0)


def _annotated(signed_page: Any, final_page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    return bool(pdfium_c.FPDFPage_GetAnnotCount(signed_page) or pdfium_c.FPDFPage_GetAnnotCount(final_page))


def _to_pixels(page: Any, rect: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[int, int, int, int]:
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
    return (min(xs) - _PAD, min(ys) - _PAD, max(xs) + _PAD + 1, max(ys) + _PAD + 1)


# --- reading pages and annotations with pyHanko, guarded against cycles -----------------------

def _pages(root: Any) -> Iterator[Any]:
    """Leaf pages in order; a page tree that loops or explodes ends the walk, never hangs it."""
    seen: set[int] = set()
    stack = [root.raw_get("/Pages")]
    while stack and len(seen) < 100_000:
        ref = stack.pop()
        idnum = getattr(ref, "idnum", None)
        if idnum is not None:
            if idnum in seen:
                continue
            seen.add(idnum)
        node = ref.get_object()
        if "/Kids" in node:
            kids = node["/Kids"]
            stack.extend(kids.raw_get(i) for i in reversed(range(len(kids))))
        else:
            yield node


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
