"""Annotations added after signing: a permitted change, named as such, as EU DSS does.

pyHanko's default diff policy explains signatures, form filling and LTA data but no
comments (#209): one sticky note after an approval signature makes it "OTHER". We add one
rule to pyHanko's policy, at level ANNOTATIONS (so DocMDP P=1 and P=2 still refuse it):

- a page may change only in its /Annots array (every other key identical);
- annotations that are new, or were already annotations and not widgets, may be written,
  together with the *fresh* objects they reach (appearance streams, popups, fonts of the
  appearance): fresh objects did not exist when the document was signed, so they cannot
  alter anything signed;
- widgets (form fields) stay with pyHanko's form rules.

What the annotation *shows* is then checked by `visual`: it must not cover signed ink.

A later signature field after such annotations (the clerk writes the number as stamp
annotations, then the agency seals): pyHanko's widget-binding check takes every annotation
added to a page since the signed revision for a widget of a new signature field, and calls
the fresh comments "not recognised" (the whole diff fails, OTHER). `SigFieldCreationAfterAnnotations`
runs the same check with the fresh non-widget annotations set aside: they are still
explained only by `AnnotationRule` (level ANNOTATIONS, DocMDP, the visual check), so
nothing is approved that was not approved before.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from pyhanko.pdf_utils import generic
from pyhanko.sign.diff_analysis import ModificationLevel, QualifiedWhitelistRule, ReferenceUpdate
from pyhanko.sign.diff_analysis.constants import ROOT_EXEMPT_STRICT_COMPARISON, VALUE_UPDATE_KEYS
from pyhanko.sign.diff_analysis.form_rules_api import FormUpdatingRule
from pyhanko.sign.diff_analysis.policies import DEFAULT_DIFF_POLICY, StandardDiffPolicy
from pyhanko.sign.diff_analysis.rules.file_structure_rules import CatalogModificationRule
from pyhanko.sign.diff_analysis.rules.form_field_rules import GenericFieldModificationRule, SigFieldCreationRule

_MAX_FRESH = 5_000  # objects reachable from one revision's new annotations


class AnnotationRule(QualifiedWhitelistRule):
    def apply_qualified(self, old: Any, new: Any) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        level = ModificationLevel.ANNOTATIONS
        for ref in new.explicit_refs_in_revision():
            if old.is_ref_unassignable(ref):
                continue  # a fresh object: explained below only if an annotation reaches it
            new_obj = new(ref)
            if not isinstance(new_obj, generic.DictionaryObject) or new_obj.get("/Type") != "/Page":
                continue
            old_obj = old(ref)
            if not isinstance(old_obj, generic.DictionaryObject) or old_obj.get("/Type") != "/Page":
                continue
            if not _same_except(old_obj, new_obj, "/Annots"):
                continue
            updates = list(self._annotation_updates(old, new, old_obj, new_obj))
            if not updates:
                continue  # only widgets changed: pyHanko's form rules decide
            yield level, ReferenceUpdate(ref)
            annots_ref = new_obj.raw_get("/Annots") if "/Annots" in new_obj else None
            if isinstance(annots_ref, generic.IndirectObject):
                yield level, ReferenceUpdate(annots_ref.reference)
            for upd in updates:
                yield level, ReferenceUpdate(upd)

    @staticmethod
    def _annotation_updates(old: Any, new: Any, old_page: Any, new_page: Any) -> Iterator[generic.Reference]:
        old_annots = set(_annot_refs(old, old_page))
        for annot_ref in _annot_refs(new, new_page):
            annot = new(annot_ref)
            if not isinstance(annot, generic.DictionaryObject) or annot.get("/Subtype") == "/Widget":
                continue
            fresh = old.is_ref_unassignable(annot_ref)
            if not fresh:
                # an existing object: only an existing non-widget annotation may be rewritten
                before = _safe_get(old, annot_ref)
                if not isinstance(before, generic.DictionaryObject) or before.get("/Subtype") in (None, "/Widget"):
                    continue
                if annot_ref in old_annots and annot_ref not in new.explicit_refs_in_revision():
                    continue  # unchanged
            yield annot_ref
            yield from fresh_reachable(old, new, annot)


class SigFieldCreationBesideComments(SigFieldCreationRule):
    """pyHanko's rule for new signature fields, which refuses a page whose /Annots gained
    anything besides the new fields' widgets. Across two updates (a seal, then a comment;
    or both in one update) the page gains both: the comment is left to `AnnotationRule`
    (so DocMDP still decides) instead of failing the whole diff. Any other new widget still
    fails as pyHanko has it."""

    def __init__(self) -> None:
        super().__init__(approve_widget_bindings=False, allow_new_visible_after_certify=True)

    def apply(self, context: Any) -> Iterable[tuple[ModificationLevel, Any]]:
        from pyhanko.sign.diff_analysis.commons import qualify
        from pyhanko.sign.diff_analysis.rules.form_field_rules import _walk_page_tree_annots

        yield from super().apply(context)
        widgets: dict[generic.Reference, str | None] = {}
        for fq_name, spec in context.field_specs.items():
            if spec.field_type != "/Sig" or spec.old_field_ref or spec.new_field_ref is None:
                continue
            field = spec.new_field_ref.get_object()
            kids = field.get("/Kids") if isinstance(field, generic.DictionaryObject) else None
            if isinstance(kids, generic.ArrayObject):
                for i in range(len(kids)):
                    kid = kids.raw_get(i)
                    if isinstance(kid, generic.IndirectObject) and "/T" not in kid.get_object():
                        widgets[kid.reference] = fq_name
            else:
                widgets[spec.new_field_ref] = fq_name
        if not widgets:
            return  # no new signature field: pyHanko's rule would not look at pages either
        comments = dict.fromkeys(_new_comments(context.old, context.new))
        yield from qualify(ModificationLevel.LTA_UPDATES, _walk_page_tree_annots(
            context.old.root["/Pages"], context.new.root["/Pages"], {**comments, **widgets}, context.old,
            valid_when_locked=True, refs_seen=set()))


def _new_comments(old: Any, new: Any) -> Iterator[generic.Reference]:
    """New non-widget annotations on the pages of ``new`` (bounded walk of the page tree)."""
    stack = [new.root.raw_get("/Pages")]
    seen: set[generic.Reference] = set()
    while stack and len(seen) < 100_000:
        ref = stack.pop()
        if not isinstance(ref, generic.IndirectObject) or ref.reference in seen:
            continue
        seen.add(ref.reference)
        node = ref.get_object()
        if not isinstance(node, generic.DictionaryObject):
            continue
        if "/Kids" in node:
            kids = node["/Kids"]
            stack.extend(kids.raw_get(i) for i in range(len(kids)) if isinstance(kids, generic.ArrayObject))
            continue
        for annot_ref in _annot_refs(new, node):
            annot = new(annot_ref)
            if (old.is_ref_unassignable(annot_ref) and isinstance(annot, generic.DictionaryObject)
                    and annot.get("/Subtype") != "/Widget"):
                yield annot_ref


def diff_policy() -> StandardDiffPolicy:
    """pyHanko's default policy plus `AnnotationRule` and the rules of `signing.checks.structure`.

    Two defaults change: a new *visible* signature after a certification signature is
    permitted where DocMDP permits signing (P=2, P=3; ISO 32000-1 12.8.2.2), as Acrobat and
    EU DSS do (pyHanko refuses it by default) — `visual` then checks that its appearance
    covers no signed content; and the catalog's /Names may change, because
    `NamesAppearanceRule` judges that entry itself.
    """
    from signing.checks.structure import NamesAppearanceRule, StructureTreeRule

    default_form_rule = DEFAULT_DIFF_POLICY.form_rule
    assert default_form_rule is not None  # pyHanko's default policy always has one
    global_rules = [CatalogModificationRule(ignored_keys=ROOT_EXEMPT_STRICT_COMPARISON | {"/Names"})
                    if isinstance(rule, CatalogModificationRule) else rule
                    for rule in DEFAULT_DIFF_POLICY.global_rules]
    field_rules = [SigFieldCreationBesideComments() if isinstance(rule, SigFieldCreationRule)
                   # a tagged form's filler may link the widget to the structure tree
                   else GenericFieldModificationRule(value_update_keys=VALUE_UPDATE_KEYS | {"/StructParent"})
                   if type(rule) is GenericFieldModificationRule else rule
                   for rule in default_form_rule.field_rules]
    return StandardDiffPolicy(
        global_rules=[*global_rules, AnnotationRule(), StructureTreeRule(), NamesAppearanceRule()],
        form_rule=FormUpdatingRule(field_rules=field_rules,
                                   ignored_acroform_keys=default_form_rule.ignored_acroform_keys))


def _same_except(old: generic.DictionaryObject, new: generic.DictionaryObject, key: str) -> bool:
    keys = set(old.keys()) | set(new.keys())
    keys.discard(key)
    return all(k in old and k in new and old.raw_get(k) == new.raw_get(k) for k in keys)


def _annot_refs(resolver: Any, page: generic.DictionaryObject) -> Iterator[generic.Reference]:
    if "/Annots" not in page:
        return
    annots = page["/Annots"]
    if not isinstance(annots, generic.ArrayObject):
        return
    for i in range(len(annots)):
        raw = annots.raw_get(i)
        if isinstance(raw, generic.IndirectObject):
            yield raw.reference


def _safe_get(resolver: Any, ref: generic.Reference) -> Any:
    try:
        return resolver(ref)
    except Exception:  # noqa: BLE001 - not in that revision
        return None


def fresh_reachable(old: Any, new: Any, start: Any) -> Iterator[generic.Reference]:
    """References reachable from ``start`` that did not exist in the signed revision."""
    seen: set[generic.Reference] = set()
    stack = [start]
    while stack and len(seen) < _MAX_FRESH:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            ref = obj.reference
            if ref in seen or not old.is_ref_unassignable(ref):
                continue  # already handled, or an object of the signed revision: not ours to approve
            seen.add(ref)
            yield ref
            obj = _safe_get(new, ref)
        if isinstance(obj, generic.DictionaryObject):  # streams are dictionaries too
            stack.extend(obj.raw_get(k) for k in obj.keys() if k not in ("/Parent", "/P"))
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj.raw_get(i) for i in range(len(obj)))
