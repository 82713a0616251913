"""What an auditor relies on in the report (issue 11, item 8): which document, checks that
a broken hash leaves unevaluated, labels from the catalogues only."""
from __future__ import annotations

import re

from signing.report import (FAILED, PASSED, DocumentIdentity, Revocation, SignatureResult, Signer, Timestamp,
                            build_report, dn_text, labelled_dn, render_html)

DN = (("CN", "Nguyễn Văn A"), ("O", "Ủy ban nhân dân tỉnh Vĩnh Long"), ("C", "VN"))


def _tampered() -> SignatureResult:
    # what pyHanko reports for a flipped byte: the certificate and timestamp still "check out"
    return SignatureResult(field="Sig1", indication=FAILED, sub_indication="HASH_FAILURE",
                           signer=Signer("Nguyễn Văn A", subject_dn=DN, issuer_dn=DN), valid=True, trusted=True,
                           coverage="entire_file", modification="none", timestamp=Timestamp(None, "TSA", True),
                           revocation=Revocation("good", "embedded"), chain=(DN,))


def test_after_a_hash_failure_the_other_checks_read_not_evaluated():
    report = build_report([_tampered()], [])
    assert report.to_json()["signatures"][0]["checks_evaluated"] is False
    vi, en = render_html(report, "vi"), render_html(report, "en")
    assert vi.count("chưa đánh giá") == 5 and en.count("not evaluated") == 5
    for page in (vi, en):
        assert "chưa bị thu hồi" not in page and "not revoked" not in page
        assert "(hợp lệ)" not in page and "(valid)" not in page  # the timestamp's verdict
    ok = build_report([SignatureResult(field="Sig1", indication=PASSED, sub_indication=None)], [])
    assert ok.to_json()["signatures"][0]["checks_evaluated"] is True
    assert "chưa đánh giá" not in render_html(ok, "vi")


def test_the_report_names_the_document():
    document = DocumentIdentity(file_name="cong-van-12.pdf", document_id=7, revision=2, number="12",
                                notation="UBND-VP", subject="Về việc triển khai chữ ký số")
    report = build_report([], [], sha256="ab" * 32, size=1234, document=document)
    data = report.to_json()
    assert data["document"] == {"file_name": "cong-van-12.pdf", "document_id": 7, "revision": 2, "number": "12",
                                "notation": "UBND-VP", "subject": "Về việc triển khai chữ ký số"}
    page = render_html(report, "vi")
    for text in ("cong-van-12.pdf", "12/UBND-VP", "Về việc triển khai chữ ký số", "ab" * 32, "Tên tệp", "Trích yếu"):
        assert text in page
    assert "File name" in render_html(report, "en")


def test_certificate_names_carry_labels_in_the_readers_language():
    report = build_report([SignatureResult(field="Sig1", indication=PASSED, sub_indication=None, chain=(DN, DN))], [])
    vi = render_html(report, "vi")
    assert "Tên: Nguyễn Văn A; Cơ quan, tổ chức: Ủy ban nhân dân tỉnh Vĩnh Long; Quốc gia: VN" in vi
    assert "Name: Nguyễn Văn A; Organisation:" in render_html(report, "en")
    assert "Common Name" not in render_html(report, "en")  # asn1crypto's human_friendly labels
    assert not re.search(r"Common Name|Organi[sz]ation:|Country:|Name:", vi)
    assert labelled_dn((("2.5.4.97", "x"),), "vi") == "2.5.4.97: x"


def test_dn_text_escapes_separators():
    assert dn_text((("CN", "A, B"), ("O", "x=y"))) == "CN=A\\, B, O=x\\=y"
    assert Signer(subject_dn=DN, issuer_dn=DN).self_signed
    assert not Signer(subject_dn=DN, issuer_dn=()).self_signed
