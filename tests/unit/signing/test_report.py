"""The report's JSON contract (other programs read these names), verdict rules and the HTML page."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate

from signing.report import (FAILED, INDETERMINATE, NO_SIGNATURE, PASSED, Finding, Indication, Revocation,
                            SignatureResult, Signer, Timestamp, build_report, indication_of, render_html)

SIG_KEYS = {"field", "indication", "sub_indication", "signer", "intact", "trusted", "coverage", "modification",
            "signing_time", "timestamp", "revocation"}


def sig(indication: str, sub: str | None = None, **kw) -> SignatureResult:  # type: ignore[no-untyped-def]
    return SignatureResult(field=kw.pop("field", "Sig1"), indication=indication, sub_indication=sub, **kw)


def test_json_keeps_the_contract_names():
    when = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    report = build_report([sig(PASSED, signer=Signer("Nguyễn Văn A", "UBND tỉnh Vĩnh Long", "1A2B"),
                               timestamp=Timestamp(when, "TSA", True), revocation=Revocation("good", "embedded"),
                               signing_time=when, intact=True, trusted=True, coverage="entire_file",
                               modification="none")], [])
    data = report.to_json()
    assert {"indication", "sub_indication", "signatures", "findings", "messages"} <= set(data)
    assert set(data["messages"]) == {"vi", "en"}
    s = data["signatures"][0]
    assert SIG_KEYS <= set(s)
    assert set(s["signer"]) >= {"name", "organization", "serial"}
    assert set(s["timestamp"]) == {"time", "tsa", "valid"}
    assert set(s["revocation"]) >= {"status", "source"}  # keys are only ever added
    assert s["signing_time"] == "2026-11-26T09:00:00Z"


def test_document_indication_is_the_worst_signature():
    report = build_report([sig(PASSED), sig(FAILED, "HASH_FAILURE", field="Sig2"), sig(INDETERMINATE, "NO_POE")], [])
    assert (report.indication, report.sub_indication) == (FAILED, "HASH_FAILURE")
    report = build_report([sig(PASSED), sig(INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")], [])
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")


def test_no_signature_and_document_findings():
    assert build_report([], []).indication == NO_SIGNATURE
    report = build_report([], [Finding("UNREADABLE", FAILED)])
    assert (report.indication, report.sub_indication) == (FAILED, "FORMAT_FAILURE")
    # A FAILED document finding outranks signatures that passed on their own.
    report = build_report([sig(PASSED)], [Finding("SIGNATURE_HIDDEN", FAILED)])
    assert report.indication == FAILED


def test_messages_are_clear_in_both_languages():
    report = build_report([sig(FAILED, "HASH_FAILURE")], [Finding("MODIFIED_AFTER_SIGNING", FAILED, "Sig1")])
    assert report.messages["vi"][0] == "Tài liệu không hợp lệ"
    assert "Tài liệu đã bị sửa đổi sau khi ký" in " ".join(report.messages["vi"])
    assert "changed after it was signed" in " ".join(report.messages["en"])
    assert report.messages["en"][1] == ("Signature \u201cSig1\u201d: The signature is not valid: "
                                        "The document was changed after it was signed")
    ok = build_report([sig(PASSED, signer=Signer("Nguyễn Văn A"))], [])
    assert ok.messages == {"vi": ["Tài liệu hợp lệ: mọi chữ ký đều hợp lệ",
                                  "Chữ ký \u201cNguyễn Văn A\u201d: Chữ ký hợp lệ"],
                           "en": ["Document valid: every signature is valid",
                                  "Signature \u201cNguyễn Văn A\u201d: The signature is valid"]}


def test_findings_keep_both_texts_under_vi_and_en():
    finding = Finding("PASSWORD_REQUIRED", FAILED).to_json()
    assert finding["vi"] == "Tệp PDF được bảo vệ bằng mật khẩu nên không kiểm tra được chữ ký"
    assert finding["en"] == "The PDF is password-protected, so its signatures cannot be checked"
    assert Finding("SOMETHING_NEW", "INFO").to_json()["vi"] == "SOMETHING_NEW"  # a code with no text yet


def test_html_is_printable_escaped_and_bilingual():
    when = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    report = build_report([sig(PASSED, signer=Signer("<script>alert(1)</script>", "Ủy ban", "01"),
                               signing_time=when)], [])
    vi = render_html(report)
    en = render_html(report, lang="en")
    assert vi.startswith("<!doctype html>") and 'lang="vi"' in vi and "Kết quả kiểm tra chữ ký số" in vi
    assert "<script>alert" not in vi and "&lt;script&gt;" in vi
    assert 'lang="en"' in en and "Digital signature verification report" in en
    assert "Chữ ký hợp lệ" in vi and "Người ký" in vi and "Tin cậy" in vi
    assert "The signature is valid" in en and "Signer" in en and "Kết quả" not in en and "Người ký" not in en
    assert 'lang="vi"' in render_html(report, lang="fr")  # anything else: Vietnamese
    assert "Ủy ban" in vi
    assert "26/11/2026 16:00:00 (+07:00)" in vi  # times shown in Vietnam's zone


def test_indications_keep_the_strings_other_programs_read():
    assert [i.value for i in Indication] == ["PASSED", "INDETERMINATE", "FAILED", "NO_SIGNATURE"]
    assert (PASSED, INDETERMINATE, FAILED, NO_SIGNATURE) == ("PASSED", "INDETERMINATE", "FAILED", "NO_SIGNATURE")
    data = json.loads(json.dumps(build_report([sig(FAILED, "HASH_FAILURE")], []).to_json()))
    assert (data["indication"], data["signatures"][0]["indication"]) == ("FAILED", "FAILED")


def test_pyhankos_own_classes_decide_a_sub_indications_indication():
    assert indication_of(AdESFailure.HASH_FAILURE) == FAILED
    assert indication_of(AdESIndeterminate.TRY_LATER) == INDETERMINATE
    # one name, two meanings: the class says which
    assert indication_of(AdESFailure.NOT_YET_VALID) == FAILED
    assert indication_of(AdESIndeterminate.NOT_YET_VALID) == INDETERMINATE
