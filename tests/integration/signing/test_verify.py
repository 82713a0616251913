"""verify() on PDFs signed here with pyHanko, honest and attacked (tests/verify_fixtures.py).

Each attack is a general construction (a byte flipped, a drawing appended, a page added, a
blank /Contents, a hidden form, an update with an empty xref, a filled field over signed
text, a cyclic page tree), not a copy of a known exploit file.
"""
from __future__ import annotations

import io
import re

import pytest

from signing.report import FAILED, INDETERMINATE, NO_SIGNATURE, PASSED
from signing.verify import verify
from tests import verify_fixtures as fx


@pytest.fixture(scope="module")
def pki() -> fx.TestPKI:
    return fx.pki()


@pytest.fixture(scope="module")
def signed_lt() -> bytes:
    return fx.sign(fx.make_pdf(["Quyet dinh so 123/QD-UBND: cap kinh phi 1.000.000 dong.", "Trang 2"]), level="B-LT")


def check(data: bytes, pki: fx.TestPKI, **kw):  # type: ignore[no-untyped-def]
    return verify(io.BytesIO(data), trust_roots=[pki.root], **kw)


def codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


# --- honest files -----------------------------------------------------------------------------

def test_b_lt_signature_passes_offline_from_the_files_own_dss(pki, signed_lt):
    report = check(signed_lt, pki)
    assert report.indication == PASSED, report.to_json()
    sig = report.signatures[0]
    assert (sig.intact, sig.trusted, sig.coverage, sig.modification) == (True, True, "entire_revision", "lta_updates")
    assert sig.revocation.status == "good" and sig.revocation.source == "embedded"
    assert sig.signer.name == "Nguyễn Thị Lấp Lánh"
    assert sig.signer.organization == "Ủy ban nhân dân tỉnh Vĩnh Long"
    assert sig.signer.serial == format(pki.signer.cert.serial_number, "X")
    assert sig.timestamp is not None and sig.timestamp.valid and sig.timestamp.tsa == "Lienthong Test TSA"
    assert report.messages["vi"][0].startswith("Tài liệu hợp lệ")
    assert any("Chữ ký hợp lệ" in m for m in report.messages["vi"])


def test_b_lta_lists_the_document_timestamp(pki):
    report = check(fx.sign(fx.make_pdf(), level="B-LTA"), pki)
    assert report.indication == PASSED, report.to_json()
    assert [s.kind for s in report.signatures] == ["signature", "doc_timestamp"]
    import json

    assert json.loads(json.dumps(report.to_json(), ensure_ascii=False))["signatures"][1]["kind"] == "doc_timestamp"


def test_untrusted_root_is_indeterminate_not_failed(pki, signed_lt):
    report = verify(io.BytesIO(signed_lt), trust_roots=[pki.stranger_root])
    assert report.indication == INDETERMINATE
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report.signatures[0].intact


def test_b_b_without_revocation_data_is_not_passed_offline(pki):
    report = check(fx.sign(fx.make_pdf(), level="B-B"), pki)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "TRY_LATER")
    assert report.signatures[0].revocation.source == "none"
    assert "NO_REVOCATION_DATA" in codes(report)


def test_revoked_signer_is_failed(pki):
    report = check(fx.sign(fx.make_pdf(), level="B-T", who="revoked"), pki,
                   validation_context_factory=None)
    # Offline the B-T file has no revocation data: at best INDETERMINATE, never PASSED.
    assert report.indication in (INDETERMINATE, FAILED)


def test_online_pass_uses_the_factory_with_hard_fail(pki):
    seen = {}

    def factory(**kw):  # type: ignore[no-untyped-def]
        seen.update(kw)
        return fx.validation_context()

    report = check(fx.sign(fx.make_pdf(), level="B-T", who="revoked"), pki, allow_fetching=True,
                   validation_context_factory=factory)
    assert seen["revocation_mode"] == "hard-fail" and seen["allow_fetching"] is True
    assert report.indication == FAILED and report.sub_indication == "REVOKED"
    assert report.signatures[0].revocation.to_json().items() >= {"status": "revoked", "source": "fetched"}.items()


def test_a_failing_online_context_leaves_the_offline_answer(pki):
    def broken(**kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("responder configuration missing")

    report = check(fx.sign(fx.make_pdf(), level="B-T"), pki, allow_fetching=True, validation_context_factory=broken)
    assert report.indication == INDETERMINATE and "ONLINE_CHECK_UNAVAILABLE" in codes(report)


def test_two_visible_signatures_both_pass_with_the_later_one_named_as_form_filling(pki):
    person = fx.sign(fx.make_pdf(), level="B-LT", box=(350, 100, 550, 160))
    # The seal overlaps the person's stamp, as Decree 30 asks.
    both = fx.sign(person, level="B-LT", field="Seal", who="second", box=(300, 90, 420, 170))
    report = check(both, pki)
    assert report.indication == PASSED, report.to_json()
    assert [s.modification for s in report.signatures] == ["form_filling", "lta_updates"]


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_form_filling_on_blank_paper_keeps_the_indication(pki, rotate):
    signed = fx.sign(fx.make_pdf(blank_text_field=True, rotate=rotate), level="B-LT")
    report = check(fx.fill_text_field(signed), pki)
    assert report.indication == PASSED, report.to_json()
    assert report.signatures[0].modification == "form_filling"


def test_comment_added_after_an_approval_signature_keeps_the_indication(pki, signed_lt):
    report = check(fx.add_text_annotation(signed_lt), pki)
    assert report.indication == PASSED, report.to_json()
    assert report.signatures[0].modification == "annotations"
    assert "ANNOTATIONS_ADDED" in codes(report)


def test_annotation_that_hides_signed_text_is_failed(pki, signed_lt):
    report = check(fx.add_text_annotation(signed_lt, rect=(60, 690, 560, 720), opaque=True), pki)
    assert report.indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report)


@pytest.mark.parametrize("rewrite_page", [False, True])
def test_hiding_a_signed_stamp_annotation_is_failed(pki, rewrite_page):
    """Without the page rewritten pyHanko's diff refuses it; with it, our annotation rule
    lets it through to the rendered comparison, which sees signed ink erased."""
    stamped = fx.add_text_annotation(fx.make_pdf(), rect=(400, 500, 560, 560), opaque=True, gray=0.0)
    signed = fx.sign(stamped, level="B-LT")
    assert check(signed, pki).indication == PASSED
    report = check(fx.hide_annotations(signed, rewrite_page=rewrite_page), pki)
    assert report.indication == FAILED, report.to_json()
    assert ("CONTENT_COVERED" if rewrite_page else "MODIFIED_AFTER_SIGNING") in codes(report)


@pytest.mark.parametrize("permission, expected", [(2, FAILED), (3, PASSED)])
def test_annotation_after_certification_follows_docmdp(pki, permission, expected):
    signed = fx.sign(fx.make_pdf(), level="B-LT", certify=permission)
    report = check(fx.add_text_annotation(signed), pki)
    assert report.indication == expected, report.to_json()


def test_unsigned_pdf_has_no_signature(pki):
    report = check(fx.make_pdf(), pki)
    assert report.indication == NO_SIGNATURE and report.signatures == ()


# --- attacks: each must be FAILED even when the certificate is not trusted -------------------

ATTACKS = {
    "byte flipped in signed range": lambda d: fx.flip_byte(d),
    "drawing appended on page 1": fx.append_drawing,
    "page added": fx.add_page,
    "empty /Contents (USF)": fx.empty_contents,
    "/ByteRange moved (wrapping)": fx.wrap_byte_range,
    "update with empty xref (ISA)": fx.append_unreferenced_update,
    "object after last %%EOF (ISA)": fx.append_garbage,
    "cyclic page tree in an update": fx.cyclic_update,
    "signature hidden from the form": fx.hide_signatures,
    "malformed update replacing page content": fx.append_malformed_update,
    "update that breaks the reader (ISA)": fx.append_broken_update,
}


@pytest.mark.parametrize("roots", ["trusted", "untrusted"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_is_failed(pki, signed_lt, attack, roots):
    tampered = ATTACKS[attack](signed_lt)
    anchor = pki.root if roots == "trusted" else pki.stranger_root
    report = verify(io.BytesIO(tampered), trust_roots=[anchor])
    assert report.indication == FAILED, (attack, report.to_json())
    assert report.signatures, "a tampered signature must be listed, not reported as 'no signature'"
    assert all(s.indication != PASSED for s in report.signatures)
    assert report.messages["vi"][0] == "Tài liệu không hợp lệ"


USF_CONTENTS = {"empty": b"<>", "null": b"null", "absent": None, "zeros": b"<" + b"00" * 32 + b">",
                "garbage": b"<DEADBEEF>", "literal": b"(abc)", "number": b"42"}
USF_BYTE_RANGES = {"absent": None, "null": b"null", "empty": b"[]", "zeros": b"[0 0 0 0]", "negative": b"[0 -1 5 -3]",
                   "three numbers": b"[0 100 200]", "strings": b"[(0) (1) (2) (3)]",
                   "past the end": b"[0 99999999 99999999 99999999]", "no gap": b"[0 1000 0 0]"}


@pytest.mark.parametrize("variant", sorted(USF_CONTENTS))
def test_universal_signature_forgery_contents_is_failed(pki, signed_lt, variant):
    reader_br = re.search(rb"/ByteRange\s*(\[[^\]]*\])", signed_lt).group(1)
    report = check(fx.forge_signature_dictionary(signed_lt, USF_CONTENTS[variant], reader_br), pki)
    assert report.indication == FAILED, report.to_json()


@pytest.mark.parametrize("variant", sorted(USF_BYTE_RANGES))
def test_universal_signature_forgery_byte_range_is_failed(pki, signed_lt, variant):
    contents = re.search(rb"/Contents\s*(<[0-9A-Fa-f]+>)", signed_lt).group(1)
    report = check(fx.forge_signature_dictionary(signed_lt, contents, USF_BYTE_RANGES[variant]), pki)
    assert report.indication == FAILED, report.to_json()


# --- dangling references (a reference to an object no revision defines is null) ---------------

def test_private_trailer_entry_with_dangling_references_is_ignored(pki):
    # LibreOffice's /AdditionalStreams: one number never defined, one that a later revision
    # (the second signature) happens to allocate. No viewer reads the entry.
    pdf = fx.make_pdf(trailer_extra=b" /AdditionalStreams [/x 17 0 R /y 500 0 R]")
    signed = fx.sign(fx.sign(pdf, level="B-LT"), level="B-LT", field="Sig2")
    assert b"/AdditionalStreams" in signed[-400:]  # carried into every revision, as LibreOffice does
    report = check(signed, pki)
    assert report.indication == PASSED, report.to_json()
    assert "CHANGES_NOT_ANALYSED" not in codes(report)


def test_dangling_page_content_filled_in_after_signing_is_failed(pki):
    signed = fx.sign(fx.make_pdf(dangling_content=99), level="B-LT")
    assert check(signed, pki).indication == PASSED
    report = check(fx.define_object(signed, 99), pki)
    assert report.indication == FAILED, report.to_json()
    assert report.signatures[0].modification != "none"


def test_hash_failure_is_named(pki, signed_lt):
    report = check(fx.flip_byte(signed_lt), pki)
    assert report.sub_indication == "HASH_FAILURE"
    assert any("sửa đổi sau khi ký" in m for m in report.messages["vi"])


def test_incremental_saving_attack_is_reported_as_modification(pki, signed_lt):
    report = check(fx.append_unreferenced_update(signed_lt), pki)
    assert "UNACCOUNTED_BYTES" in codes(report)
    assert report.signatures[0].modification == "other"
    assert "Chữ ký không hợp lệ: Tài liệu đã bị sửa đổi sau khi ký" in " ".join(report.messages["vi"])


def test_unreadable_update_still_names_the_signature(pki, signed_lt):
    report = check(fx.append_broken_update(signed_lt), pki)
    assert report.indication == FAILED and "UNACCOUNTED_BYTES" in codes(report)
    sig = report.signatures[0]
    assert (sig.field, sig.intact, sig.modification) == ("Sig1", True, "other")


def test_hidden_signature_is_a_modification_not_no_signature(pki, signed_lt):
    report = check(fx.hide_signatures(signed_lt), pki)
    assert report.indication == FAILED and "SIGNATURE_HIDDEN" in codes(report)
    assert [s.field for s in report.signatures] == ["Sig1"]  # named from the revision that showed it


@pytest.mark.parametrize("rotate", [0, 90])
def test_shadow_replace_via_form_field_over_signed_text_is_failed(pki, rotate):
    """pyHanko calls this form filling; the rendered page shows other words than were signed."""
    signed = fx.sign(fx.make_pdf(text_field_over_text=True, rotate=rotate), level="B-LT")
    assert check(signed, pki).indication == PASSED  # the prepared overlay alone changes nothing
    report = check(fx.fill_text_field(signed), pki)
    assert report.indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in codes(report) or "VISUAL_CHANGE" in codes(report)


def test_sneaky_signature_hiding_signed_text_is_failed(pki):
    """A later signature whose opaque appearance hides the signed text (certification attacks, RUB 2021)."""
    first = fx.sign(fx.make_pdf(), level="B-LT", box=(350, 100, 550, 160))
    sneaky = fx.sign(first, level="B-LT", field="Sneaky", who="second", box=(60, 690, 560, 720), opaque=True)
    report = check(sneaky, pki)
    assert report.indication == FAILED, report.to_json()
    assert report.signatures[0].indication == FAILED and report.signatures[1].indication == PASSED


def test_certified_no_changes_then_form_filled_is_failed(pki):
    signed = fx.sign(fx.make_pdf(blank_text_field=True), level="B-LT", certify=1)
    report = check(fx.fill_text_field(signed), pki)
    assert report.indication == FAILED, report.to_json()


def test_cyclic_unsigned_pdf_ends_quickly_and_is_not_passed(pki):
    report = check(fx.make_pdf(cyclic_pages=True), pki, time_budget_s=5)
    assert report.indication != PASSED


def test_password_protected_pdf_is_indeterminate_with_the_reason(pki):
    report = check(fx.encrypt(fx.make_pdf(), "mat-khau"), pki)
    assert report.indication == INDETERMINATE and "PASSWORD_REQUIRED" in codes(report)
    assert any("mật khẩu" in m for m in report.messages["vi"])


def test_garbage_and_non_pdf_input_never_crash(pki):
    for junk in (b"", b"not a pdf", b"%PDF-1.7\n" + b"\x00" * 100, fx.make_pdf()[:200]):
        report = check(junk, pki)
        assert report.indication in (FAILED, NO_SIGNATURE)
        assert report.to_json()["indication"] == report.indication


def test_concurrent_calls_share_nothing_and_all_finish(pki, signed_lt):
    """One ValidationContext per call: a shared one hangs pyHanko (PYHANKO-NOTES pitfall 4)."""
    from concurrent.futures import ThreadPoolExecutor

    two = fx.sign(fx.sign(fx.make_pdf(), level="B-LT", box=(350, 100, 550, 160)), level="B-LT", field="Seal",
                  who="second", box=(300, 90, 420, 170))  # exercises the PDFium lock too
    docs = [signed_lt, two, fx.flip_byte(signed_lt), two] * 3
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda d: check(d, pki).indication, docs))
    assert results == [PASSED, PASSED, FAILED, PASSED] * 3


def test_time_budget_turns_a_slow_validation_into_failed(pki, signed_lt, monkeypatch):
    import time as _time

    import signing.verify as v

    def slow(self):  # type: ignore[no-untyped-def]
        while True:
            _time.sleep(0.01)

    monkeypatch.setattr(v._Verification, "run", slow)
    report = check(signed_lt, pki, time_budget_s=0.3)
    assert report.indication == FAILED and "TIMEOUT" in codes(report)


GEVENT_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import gevent, sys, time
from signing.checks.deadline import VerificationTimeout, call_with_deadline
from signing.verify import verify
from tests import verify_fixtures as fx

def spin():
    while True:
        pass

try:
    call_with_deadline(spin, 0.3)
    print("no timeout")
except VerificationTimeout:
    print("timeout")
ticks = []
def ticker():
    for _ in range(10):
        ticks.append(1)
        gevent.sleep(0.01)
person = fx.sign(fx.make_pdf(), level="B-LT", box=(350, 100, 550, 160))
doc = fx.sign(person, level="B-LT", field="Seal", who="second", box=(300, 90, 420, 170))  # renders pages
jobs = [gevent.spawn(verify, doc, trust_roots=[fx.pki().root]) for _ in range(3)] + [gevent.spawn(ticker)]
gevent.joinall(jobs)
print(",".join(j.value.indication for j in jobs[:3]), len(ticks))
"""


def test_under_gevent_the_deadline_holds_and_other_greenlets_run():
    """Production runs gunicorn -k gevent (docs/deployment.md): there threading is greenlets."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["timeout", "PASSED,PASSED,PASSED", "10"], out.stdout + out.stderr[-2000:]
