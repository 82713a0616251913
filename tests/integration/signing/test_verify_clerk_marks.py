"""The clerk's number and date (stamp annotations on page 1) after the official's signature,
then the agency seal: the person signature stays PASSED and its report names the addition;
the same kind of annotation over signed ink still fails it, seal or no seal."""
from __future__ import annotations

import io
from datetime import date

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing import clerk_marks
from signing.report import FAILED, PASSED
from signing.sign import sign
from signing.stamps import font_factory
from signing.verify import verify
from tests.letters import cong_van
from tests.signing_pki import SigningPKI, person, seal, signing_pki  # noqa: F401 (fixtures)


def _sign(pki: SigningPKI, pdf: bytes, cred, **kw) -> bytes:  # type: ignore[no-untyped-def]
    kw.setdefault("timestamper", pki.timestamper())
    kw.setdefault("validation_context", pki.validation_context())
    return sign(io.BytesIO(pdf), cred, **kw).data()


def _numbered(pdf: bytes) -> bytes:
    out = io.BytesIO()
    result = clerk_marks.write_marks(io.BytesIO(pdf), out, number_text="15", notation="UBND-VP",
                                     issued_on=date(2026, 12, 2))
    assert result.number_written and result.date_written
    return out.getvalue()


def _codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


def test_number_and_date_after_the_person_signature_then_the_seal_pass(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    signed = _sign(signing_pki, cong_van(pages=1), person, level="B-LT")
    numbered = _numbered(signed)
    report = verify(io.BytesIO(numbered), trust_roots=[signing_pki.root.asn1])
    assert report.indication == PASSED, report.to_json()
    assert report.signatures[0].modification == "annotations" and "ANNOTATIONS_ADDED" in _codes(report)

    sealed = _sign(signing_pki, numbered, seal, profile="seal", level="B-LT")
    report = verify(io.BytesIO(sealed), trust_roots=[signing_pki.root.asn1])
    assert report.indication == PASSED, report.to_json()
    person_result, seal_result = report.signatures[:2]
    assert (person_result.indication, person_result.modification) == (PASSED, "annotations")
    assert seal_result.indication == PASSED


def test_a_stamp_over_signed_text_fails_the_person_signature_even_under_a_seal(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    signed = _sign(signing_pki, cong_van(pages=1), person, level="B-LT")
    chars = clerk_marks.page_chars(signed)
    body = next(c for c in chars if c.text == "D")  # "Dòng 1 …": signed ink
    over_text = clerk_marks.Slot(body.left, body.left + 200, body.baseline, 12, centred=False)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    engine = font_factory().create_font_engine(writer)
    size, width = clerk_marks._fit(engine, "ĐÃ SỬA NỘI DUNG", over_text)  # type: ignore[misc]
    annotation, _ = clerk_marks._stamp(writer, engine, "ĐÃ SỬA NỘI DUNG", over_text, size, width)
    clerk_marks._add_to_page(writer, [annotation])
    out = io.BytesIO()
    writer.write(out)
    sealed = _sign(signing_pki, out.getvalue(), seal, profile="seal", level="B-LT")
    report = verify(io.BytesIO(sealed), trust_roots=[signing_pki.root.asn1])
    assert report.signatures[0].indication == FAILED, report.to_json()
    assert "CONTENT_COVERED" in _codes(report), report.to_json()
