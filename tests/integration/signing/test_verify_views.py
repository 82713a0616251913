"""Issue 11, items 1–5: every way a viewer may show a page, judged on files signed by a
*trusted* signer (tests/verify_fixtures.py's root is passed as trust anchor), so that a
change the verifier misses reads PASSED, not INDETERMINATE.

Every attack has its honest twin beside it (the same construction on blank paper, or
without the hiding trick) that must keep PASSED: a test that only ever sees FAILED could
not tell a defence from a verifier that refuses everything.
"""
from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic

from signing.report import FAILED, INDETERMINATE, PASSED
from signing.verify import verify
from tests import verify_fixtures as fx
from tests import view_fixtures as vf

# Annotation flags (ISO 32000-1, 12.5.3)
HIDDEN, PRINT, NOVIEW, TOGGLE_NOVIEW = 2, 4, 32, 256


@pytest.fixture(scope="module")
def pki() -> fx.TestPKI:
    return fx.pki()


@pytest.fixture(scope="module")
def signed() -> bytes:
    return fx.sign(fx.make_pdf(), level="B-LT")


def check(data: bytes, pki: fx.TestPKI, **kw):  # type: ignore[no-untyped-def]
    return verify(io.BytesIO(data), trust_roots=[pki.root], **kw)


def codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


def assert_covered(report) -> None:  # type: ignore[no-untyped-def]
    assert report.indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report) or "VISUAL_CHANGE" in codes(report), report.to_json()


def test_the_signed_file_itself_passes(pki, signed):
    assert check(signed, pki).indication == PASSED


# --- item 1: print and screen, flags ---------------------------------------------------------

@pytest.mark.parametrize("flags, how", [
    (PRINT | NOVIEW, "printed, not on screen"),
    (0, "on screen, not printed"),
    (HIDDEN, "hidden until a viewer or script shows it"),
    (PRINT | TOGGLE_NOVIEW, "shown when toggled"),
])
def test_cover_shown_only_in_some_view_is_failed(pki, signed, flags, how):
    assert_covered(check(vf.add_annotation(signed, flags=flags), pki))


@pytest.mark.parametrize("flags", [PRINT | NOVIEW, HIDDEN])
def test_the_same_annotation_on_blank_paper_passes(pki, signed, flags):
    report = check(vf.add_annotation(signed, flags=flags, rect=vf.BLANK), pki)
    assert report.indication == PASSED, report.to_json()


def test_flag_change_after_signing_that_reveals_a_prepared_cover_is_failed(pki):
    """The cover was in the signed revision already, hidden; only its flags change later."""
    prepared = vf.add_annotation(fx.make_pdf(), flags=HIDDEN)
    signed = fx.sign(prepared, level="B-LT")
    assert check(signed, pki).indication == PASSED  # what the signer saw: the text
    assert check(vf.set_annotation_flags(signed, PRINT), pki).indication == FAILED


# --- item 1: every appearance state ---------------------------------------------------------

@pytest.mark.parametrize("appearance", ["rollover", "down", "state"])
def test_cover_in_another_appearance_state_is_failed(pki, signed, appearance):
    report = check(vf.add_annotation(signed, appearance=appearance), pki)
    assert_covered(report)
    assert any("another appearance" in r for s in report.signatures for r in s.reasons), report.to_json()


@pytest.mark.parametrize("appearance", ["rollover", "down", "state"])
def test_other_appearance_states_on_blank_paper_pass(pki, signed, appearance):
    assert check(vf.add_annotation(signed, appearance=appearance, rect=vf.BLANK), pki).indication == PASSED


# --- item 1: no appearance: the worst a viewer could draw -------------------------------------

@pytest.mark.parametrize("subtype", ["/FreeText", "/Square", "/Ink", "/Stamp", "/Circle"])
def test_annotation_without_appearance_over_signed_text_is_failed(pki, signed, subtype):
    report = check(vf.add_annotation(signed, subtype=subtype, appearance="none",
                                     extra={"/IC": generic.ArrayObject([generic.FloatObject(1)] * 3)}), pki)
    assert_covered(report)


@pytest.mark.parametrize("subtype", ["/FreeText", "/Square", "/Text"])
def test_annotation_without_appearance_on_blank_paper_passes(pki, signed, subtype):
    report = check(vf.add_annotation(signed, subtype=subtype, appearance="none", rect=vf.BLANK), pki)
    assert report.indication == PASSED, report.to_json()


# --- item 1: optional content -----------------------------------------------------------------

def test_switching_a_layer_after_signing_is_failed(pki):
    signed = fx.sign(vf.with_layer(fx.make_pdf(), on=False), level="B-LT")
    assert check(signed, pki).indication == PASSED
    assert check(vf.switch_layers(signed, on=True), pki).indication == FAILED


def test_cover_in_a_layer_that_is_off_is_failed(pki):
    """Off on screen and in print by default, but any reader can switch the layer on."""
    signed = fx.sign(vf.with_layer(fx.make_pdf(), on=False), level="B-LT")
    tampered = vf.add_annotation(signed, extra={"/OC": vf.layer_ref(signed)})
    assert_covered(check(tampered, pki))
    honest = vf.add_annotation(signed, rect=vf.BLANK, extra={"/OC": vf.layer_ref(signed)})
    assert check(honest, pki).indication == PASSED


# --- item 2: later signatures may cover earlier signatures, not content ------------------------

def test_empty_signature_widget_changing_one_digit_is_failed(pki, signed):
    """Its appearance is transparent over the whole line except one digit: nearly all the
    signed ink under it is unchanged, and still it is FAILED."""
    ops = vf.one_digit_ops(vf.TEXT_LINE)
    report = check(vf.add_empty_signature_field(signed, vf.TEXT_LINE, ops), pki)
    assert report.indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report)


def test_signed_later_signature_changing_one_digit_is_failed(pki, signed):
    """A signed widget, by another signer, over the digit only."""
    sneaky = fx.sign(signed, level="B-LT", field="Sneaky", who="second",
                     box=tuple(round(v) for v in vf.DIGIT), opaque=True)  # type: ignore[arg-type]
    report = check(sneaky, pki)
    assert report.signatures[0].indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report)


PERSON_BOX = (350, 100, 550, 160)


def test_seal_stamped_over_a_third_of_the_persons_signature_passes(pki):
    person = fx.sign(fx.make_pdf(), level="B-LT", box=PERSON_BOX)
    seal = fx.sign(person, level="B-LT", field="Seal", who="second", box=(290, 90, 420, 170))
    report = check(seal, pki)
    assert report.indication == PASSED, report.to_json()


def test_a_later_signature_that_blanks_part_of_an_earlier_one_is_failed(pki):
    """Stamping over is covering; an opaque box that erases the signature's ink is not."""
    person = fx.sign(fx.make_pdf(), level="B-LT", box=PERSON_BOX)
    seal = fx.sign(person, level="B-LT", field="Seal", who="second", box=(290, 90, 420, 170), opaque=True)
    report = check(seal, pki)
    assert report.indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report)


def _first_ink_point(pdf: bytes, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """PDF coordinates of one inked pixel inside ``box`` of page 1 (72 dpi: a pixel is a point)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    doc.init_forms()
    page = doc[0]
    image = page.render(scale=1, grayscale=True, may_draw_forms=True).to_pil().convert("L")
    height = image.size[1]
    x0, y0, x1, y1 = box
    try:
        for y in range(height - y1, height - y0):
            for x in range(x0, x1):
                if image.getpixel((x, y)) < 100:
                    return float(x), float(height - y)
    finally:
        page.close()
        doc.close()
    raise AssertionError("no ink in the box")


def test_a_later_signature_widget_changing_one_digit_of_an_earlier_signature_is_failed(pki):
    """The person's stamp holds text (name, time); an empty signature widget the size of one
    digit whites out a glyph there and writes another."""
    person = fx.sign(fx.make_pdf(), level="B-LT", box=PERSON_BOX)
    x, y = _first_ink_point(person, PERSON_BOX)
    digit = (x - 1, y - 4, x + 6, y + 6)
    report = check(vf.add_empty_signature_field(person, digit, vf.one_digit_ops(digit, digit, b"9")), pki)
    assert report.indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report)


def test_empty_signature_widget_on_blank_paper_passes(pki, signed):
    ops = b"0 g 0 0 m 60 60 l S"
    assert check(vf.add_empty_signature_field(signed, vf.BLANK, ops), pki).indication == PASSED


# --- item 3: no silent limits -----------------------------------------------------------------

def _annotate_every_page(data: bytes, pages: int) -> bytes:
    for i in range(pages):
        data = vf.add_annotation(data, rect=vf.BLANK, page_index=i)
    return data


def test_pages_past_the_rendering_budget_are_indeterminate_with_a_finding(pki):
    signed = fx.sign(fx.make_pdf(["Trang 1", "Trang 2", "Trang 3"]), level="B-LT")
    annotated = _annotate_every_page(signed, 3)
    assert check(annotated, pki, max_rendered_pages=3).indication == PASSED
    report = check(annotated, pki, max_rendered_pages=2)
    assert report.indication == INDETERMINATE, report.to_json()
    finding = next(f for f in report.findings if f.code == "VISUAL_CHECK_INCOMPLETE")
    assert "3 page(s)" in finding.detail and "first 2" in finding.detail


def test_a_cover_within_the_budget_is_still_failed_when_other_pages_are_past_it(pki):
    signed = fx.sign(fx.make_pdf(["Quyet dinh so 123/QD-UBND: cap kinh phi 1.000.000 dong.", "Trang 2"]),
                     level="B-LT")
    tampered = vf.add_annotation(_annotate_every_page(signed, 2), flags=PRINT | NOVIEW)
    assert check(tampered, pki, max_rendered_pages=1).indication == FAILED


def test_only_pages_a_later_revision_reaches_are_rendered(pki):
    from signing.checks import visual
    from signing.checks.trailer import StandardTrailerReader

    signed = fx.sign(fx.make_pdf([f"Trang {i}" for i in range(1, 7)]), level="B-LT")
    annotated = vf.add_annotation(signed, rect=vf.BLANK, page_index=4)
    reader = StandardTrailerReader(io.BytesIO(annotated), strict=False)
    emb = reader.embedded_signatures[0]
    assert visual.changes_after(reader, emb.signed_revision).pages == [4]


# --- item 4: certified documents --------------------------------------------------------------

def test_p2_certified_then_signed_visibly_on_blank_paper_passes(pki):
    certified = fx.sign(fx.make_pdf(), level="B-LT", certify=2)
    report = check(fx.sign(certified, level="B-LT", field="Approval", who="second", box=(350, 100, 550, 160)), pki)
    assert report.indication == PASSED, report.to_json()
    assert report.signatures[0].modification == "form_filling"


def test_p2_certified_then_signed_invisibly_passes(pki):
    certified = fx.sign(fx.make_pdf(), level="B-LT", certify=2)
    assert check(fx.sign(certified, level="B-LT", field="Approval", who="second"), pki).indication == PASSED


def test_p2_certified_then_signed_over_signed_text_is_failed(pki):
    certified = fx.sign(fx.make_pdf(), level="B-LT", certify=2)
    report = check(fx.sign(certified, level="B-LT", field="Approval", who="second", box=(60, 690, 560, 720),
                           opaque=True), pki)
    assert report.indication == FAILED and "CONTENT_COVERED" in codes(report), report.to_json()


def test_p1_certified_stays_closed_to_a_new_signature_field(pki):
    certified = fx.sign(fx.make_pdf(), level="B-LT", certify=1)
    report = check(vf.add_empty_signature_field(certified, vf.BLANK, b"0 g 0 0 m 60 60 l S"), pki)
    assert report.indication == FAILED, report.to_json()


# --- item 5: honest filling of a tagged form ------------------------------------------------

@pytest.mark.parametrize("linked", [True, False])
@pytest.mark.parametrize("certify", [None, 2])
def test_honest_tagged_form_fill_passes(pki, certify, linked):
    signed = fx.sign(vf.tagged_form_pdf(linked=linked), level="B-LT", certify=certify)
    assert check(signed, pki).indication == PASSED
    report = check(vf.fill_tagged_form(signed), pki)
    assert report.indication == PASSED, report.to_json()
    assert report.signatures[0].modification == "form_filling"


def test_tagged_form_fill_under_p1_is_failed(pki):
    signed = fx.sign(vf.tagged_form_pdf(), level="B-LT", certify=1)
    assert check(vf.fill_tagged_form(signed), pki).indication == FAILED


@pytest.mark.parametrize("tree", ["/EmbeddedFiles", "/JavaScript"])
def test_new_names_entries_with_a_form_fill_are_failed(pki, tree):
    signed = fx.sign(vf.tagged_form_pdf(), level="B-LT")
    builder = vf.embedded_file_tree if tree == "/EmbeddedFiles" else vf.javascript_tree
    report = check(vf.fill_tagged_form(signed, names={tree: builder}), pki)
    assert report.indication == FAILED, report.to_json()


def test_new_names_entries_with_a_comment_are_failed(pki, signed):
    def change(w):  # type: ignore[no-untyped-def]
        w.root[generic.NameObject("/Names")] = generic.DictionaryObject(
            {generic.NameObject("/JavaScript"): vf.javascript_tree(w)})
        w.update_root()

    tampered = vf.update(vf.add_annotation(signed, rect=vf.BLANK), change)
    assert check(tampered, pki).indication == FAILED


def test_structure_tree_rule_approves_no_page_content(pki):
    """A structure element's /Pg page is not approved with it: rewriting page content
    through the tree is still a change."""
    signed = fx.sign(vf.tagged_form_pdf(), level="B-LT")
    assert check(fx.append_drawing(vf.fill_tagged_form(signed)), pki).indication == FAILED


def test_comment_after_person_and_seal_on_their_page_passes(pki):
    """pyHanko alone refuses a page that gained a comment besides a new signature field."""
    person = fx.sign(fx.make_pdf(), level="B-LT", box=(350, 100, 550, 160))
    both = fx.sign(person, level="B-LT", field="Seal", who="second", box=(300, 90, 420, 170))
    report = check(vf.add_annotation(both, rect=vf.BLANK), pki)
    assert report.indication == PASSED, report.to_json()
    assert [s.modification for s in report.signatures] == ["annotations", "annotations"]


def test_a_widget_of_no_new_signature_field_beside_a_new_signature_is_still_failed(pki):
    person = fx.sign(fx.make_pdf(), level="B-LT", box=(350, 100, 550, 160))
    both = fx.sign(person, level="B-LT", field="Seal", who="second", box=(300, 90, 420, 170))
    stray = vf.add_annotation(both, subtype="/Widget", rect=vf.BLANK)
    assert check(stray, pki).indication == FAILED


def test_a_comments_popup_over_signed_text_passes(pki, signed):
    """The window a viewer opens for a comment (a /Popup, no appearance) may lie over text."""
    comment = vf.add_annotation(signed, subtype="/Text", rect=vf.BLANK, appearance="none")
    popup = vf.add_annotation(comment, subtype="/Popup", rect=vf.TEXT_LINE, appearance="none")
    report = check(popup, pki)
    assert report.indication == PASSED, report.to_json()


def test_more_appearance_states_than_the_budget_are_indeterminate_with_a_finding(pki, signed):
    report = check(vf.add_annotation(signed, appearance="many", rect=vf.BLANK), pki)
    assert report.indication == INDETERMINATE, report.to_json()
    finding = next(f for f in report.findings if f.code == "VISUAL_CHECK_INCOMPLETE")
    assert "alternative appearance" in finding.detail


@pytest.mark.parametrize("revealed", [PRINT, 0])
def test_a_prepared_hidden_field_revealed_after_signing_is_failed(pki, revealed):
    """Shadow 'hide' via field flags: the field's cover is in the signed revision, hidden."""
    prepared = vf.set_field_flags(fx.fill_text_field(fx.make_pdf(text_field_over_text=True)), HIDDEN)
    signed = fx.sign(prepared, level="B-LT")
    assert check(signed, pki).indication == PASSED
    assert check(vf.set_field_flags(signed, revealed), pki).indication == FAILED


def test_a_prepared_print_only_field_is_failed_when_signed_content_changes_in_print(pki):
    """The cover prints but is not on screen; filling it after signing changes only the print."""
    prepared = vf.set_field_flags(fx.make_pdf(text_field_over_text=True), PRINT | NOVIEW)
    signed = fx.sign(prepared, level="B-LT")
    report = check(fx.fill_text_field(signed), pki)
    assert report.indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report)


def test_an_array_shared_by_the_structure_tree_and_a_page_is_not_approved_as_structure(pki):
    """Page 1's /Contents is an indirect array that a structure element's /K also names;
    an update of that array is a page change, not structure."""
    from pyhanko.pdf_utils.generic import NameObject

    def share(w):  # type: ignore[no-untyped-def]
        page = w.root["/Pages"]["/Kids"][0]
        array = w.add_object(generic.ArrayObject([page.raw_get("/Contents")]))
        page[NameObject("/Contents")] = array
        w.update_container(page)
        elem = w.root["/StructTreeRoot"]["/K"][0]["/K"][0]
        elem[NameObject("/K")] = array
        w.update_container(elem)

    signed = fx.sign(vf.update(vf.tagged_form_pdf(), share), level="B-LT")
    assert check(signed, pki).indication == PASSED

    def draw(w):  # type: ignore[no-untyped-def]
        # the page's own content twice: no new object, nothing that renders differently,
        # so only the diff can refuse it
        array = w.root["/Pages"]["/Kids"][0]["/Contents"]
        array.append(array.raw_get(0))
        w.update_container(array)

    report = check(vf.update(signed, draw), pki)
    assert report.indication == FAILED, report.to_json()
    # refused by the diff itself, not only caught by the rendering afterwards
    assert "MODIFIED_AFTER_SIGNING" in codes(report) and "VISUAL_CHANGE" not in codes(report), report.to_json()
