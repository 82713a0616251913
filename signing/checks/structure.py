"""Document-level structures an honest form filler or commenter must touch, as EU DSS allows.

pyHanko's default diff policy explains field values and their appearances, but not what a
filler of a *tagged* form writes beside them, nor the appearance cache a commenting tool
keeps; both read as "other" changes although no viewer draws them:

- `StructureTreeRule` (level FORM_FILLING, so DocMDP P=2 and P=3 permit it and P=1 does
  not): objects of the logical structure tree (/StructTreeRoot, structure elements, marked
  content and object references, the /ParentTree and /IDTree) may be rewritten or added.
  Only objects that are structure objects before and after are approved; the tree's
  references to pages, annotations and streams (/Pg, /Obj, /Stm, /StmOwn) are not followed,
  so nothing a page draws is approved here (and `visual` still compares the pages).
- `NamesAppearanceRule` (level ANNOTATIONS): the catalog's /Names dictionary may gain or
  change its /AP entry (named annotation appearances, e.g. Acrobat's comment icons) when
  everything it reaches is new. Any other change of /Names — embedded files, document
  JavaScript, destinations, anything — stays refused (SuspiciousModification).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from pyhanko.pdf_utils import generic
from pyhanko.sign.diff_analysis import (ModificationLevel, QualifiedWhitelistRule, ReferenceUpdate,
                                        SuspiciousModification)
from pyhanko.sign.diff_analysis.rules_api import Context

from signing.checks.annotations import fresh_reachable as _fresh_reachable

_MAX_STRUCTURE = 200_000  # structure objects visited per revision pair
# Keys a structure object may have (ISO 32000-1, 14.7.2 and 14.7.4; 7.9.6/7.9.7 for the trees).
_STRUCTURE_KEYS = frozenset({
    "/Type", "/K", "/IDTree", "/ParentTree", "/ParentTreeNextKey", "/RoleMap", "/ClassMap", "/NS",
    "/PronunciationLexicon", "/AF", "/S", "/P", "/ID", "/Pg", "/A", "/C", "/R", "/T", "/Lang", "/Alt", "/E",
    "/ActualText", "/PhoneticAlphabet", "/Phoneme", "/Ref", "/Stm", "/StmOwn", "/MCID", "/Obj",
    "/Kids", "/Nums", "/Names", "/Limits"})
_STRUCTURE_TYPES = (None, "/StructTreeRoot", "/StructElem", "/MCR", "/OBJR", "/Namespace")
# References out of the structure tree into what pages draw: never followed.
_OUTWARD = frozenset({"/Pg", "/Obj", "/Stm", "/StmOwn"})


class StructureTreeRule(QualifiedWhitelistRule):
    def apply_qualified(self, old: Any, new: Any) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        if "/StructTreeRoot" not in new.root:
            return
        written = set(new.explicit_refs_in_revision())
        targets: set[generic.Reference] = set()
        for ref in _structure_refs(new, new.root.raw_get("/StructTreeRoot"), targets):
            if ref not in written:
                continue
            before = None if old.is_ref_unassignable(ref) else _safe_get(old, ref)
            if before is not None and not _is_structure_object(before):
                continue  # was something else when signed: not ours to approve
            if before is not None and not _only_in_structure_tree(old, ref):
                continue  # also used outside the tree (e.g. a shared array): not ours either
            yield ModificationLevel.FORM_FILLING, ReferenceUpdate(ref)
        # A filled field is also reached from the tree (its object reference, /OBJR /Obj):
        # clear that one path, so that the field's change is judged by the form rules alone
        # (pyHanko recognises such a path only where /K holds the reference directly).
        for ref in targets & written:
            if old.is_ref_unassignable(ref) or not _is_widget(_safe_get(old, ref)) or not _is_widget(new(ref)):
                continue
            for path in old._get_usages_of_ref(ref):
                if tuple(path.path[:2]) == ("/Root", "/StructTreeRoot"):
                    yield ModificationLevel.FORM_FILLING, ReferenceUpdate(
                        ref, context_checked=Context.from_absolute(old, path))


class NamesAppearanceRule(QualifiedWhitelistRule):
    def apply_qualified(self, old: Any, new: Any) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        old_raw = old.root.raw_get("/Names") if "/Names" in old.root else None
        new_raw = new.root.raw_get("/Names") if "/Names" in new.root else None
        if new_raw is None:
            if old_raw is not None:
                raise SuspiciousModification("the /Names dictionary was removed after signing")
            return
        old_names = old_raw.get_object() if old_raw is not None else generic.DictionaryObject()
        new_names = new_raw.get_object()
        if not isinstance(new_names, generic.DictionaryObject) or not isinstance(old_names, generic.DictionaryObject):
            raise SuspiciousModification("the /Names entry is not a dictionary")
        written = set(new.explicit_refs_in_revision())
        names_ref = new_raw.reference if isinstance(new_raw, generic.IndirectObject) else None
        if (old_raw == new_raw and (names_ref is None or names_ref not in written)
                and not _reaches_written(new_names, written)):
            return  # unchanged
        for key in set(old_names.keys()) | set(new_names.keys()):
            if key == "/AP":
                continue
            if key not in old_names or key not in new_names or old_names.raw_get(key) != new_names.raw_get(key):
                raise SuspiciousModification(f"the /Names entry {key} changed after signing")
            if _reaches_written(new_names.raw_get(key), written):
                raise SuspiciousModification(f"the /Names entry {key} changed after signing")
        level = ModificationLevel.ANNOTATIONS
        if names_ref is not None and (names_ref in written):
            yield level, ReferenceUpdate(names_ref)
        if "/AP" in new_names:
            for ref in _fresh_reachable(old, new, new_names.raw_get("/AP")):
                yield level, ReferenceUpdate(ref)


def _structure_refs(resolver: Any, start: Any, targets: set[generic.Reference]) -> Iterator[generic.Reference]:
    """Indirect structure objects reachable from ``start`` without leaving the structure tree;
    ``targets`` collects the objects the tree's object references (/OBJR /Obj) point to."""
    seen: set[generic.Reference] = set()
    stack = [start]
    while stack and len(seen) < _MAX_STRUCTURE:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            ref = obj.reference
            if ref in seen:
                continue
            seen.add(ref)
            obj = _safe_get(resolver, ref)
            if not _is_structure_object(obj):
                continue
            yield ref
        if isinstance(obj, generic.DictionaryObject):
            if obj.get("/Type") == "/OBJR" and isinstance(obj.raw_get("/Obj"), generic.IndirectObject):
                targets.add(obj.raw_get("/Obj").reference)
            stack.extend(obj.raw_get(k) for k in obj.keys() if k not in _OUTWARD)
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj.raw_get(i) for i in range(len(obj)))


def _only_in_structure_tree(old: Any, ref: generic.Reference) -> bool:
    """Was every path to ``ref`` in the signed revision one through the structure tree?"""
    return all(tuple(path.path[:2]) == ("/Root", "/StructTreeRoot") for path in old._get_usages_of_ref(ref))


def _is_widget(obj: Any) -> bool:
    return isinstance(obj, generic.DictionaryObject) and obj.get("/Subtype") == "/Widget"


def _is_structure_object(obj: Any) -> bool:
    if isinstance(obj, generic.ArrayObject):
        return True
    if isinstance(obj, generic.StreamObject) or not isinstance(obj, generic.DictionaryObject):
        return False
    if obj.get("/Type") not in _STRUCTURE_TYPES:
        return False
    keys = set(obj.keys())
    # attribute objects (/O owner) carry layout keys of their own, but never a subtype
    return keys <= _STRUCTURE_KEYS or ("/O" in keys and "/Subtype" not in keys and "/Type" not in keys)


def _reaches_written(obj: Any, written: set[generic.Reference]) -> bool:
    seen: set[generic.Reference] = set()
    stack = [obj]
    while stack and len(seen) < _MAX_STRUCTURE:
        item = stack.pop()
        if isinstance(item, generic.IndirectObject):
            if item.reference in written:
                return True
            if item.reference in seen:
                continue
            seen.add(item.reference)
            item = item.get_object()
        if isinstance(item, generic.DictionaryObject):
            stack.extend(item.raw_get(k) for k in item.keys())
        elif isinstance(item, generic.ArrayObject):
            stack.extend(item.raw_get(i) for i in range(len(item)))
    return bool(stack)  # a walk cut short cannot show the entry is unchanged


def _safe_get(resolver: Any, ref: generic.Reference) -> Any:
    try:
        return resolver(ref)
    except Exception:  # noqa: BLE001 - not in that revision
        return None
