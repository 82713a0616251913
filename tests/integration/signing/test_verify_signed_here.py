"""verify() on what our own sign() makes: person stamp + agency seal (Decree 30 overlap) pass.

Uses the signing tests' PKI (tests/signing_pki.py: RSA chain, OCSP/CRL over HTTP on
127.0.0.1, TSA in-process). The seal's red image overlaps the person's signature: that
overlap must not be taken for a change of what the page shows.
"""
from __future__ import annotations

import io

from signing.report import FAILED, PASSED
from signing.sign import sign
from signing.verify import verify
from tests.pdfs import make_pdf
from tests.signing_pki import SigningPKI, person, seal, signing_pki  # noqa: F401 (fixtures)
from tests.verify_fixtures import append_drawing


def _sign(pki: SigningPKI, pdf: bytes, cred, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("timestamper", pki.timestamper())
    kw.setdefault("validation_context", pki.validation_context())
    return sign(io.BytesIO(pdf), cred, **kw).data()


def test_person_then_seal_pass_offline_and_tampering_fails(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    first = _sign(signing_pki, make_pdf(), person, level="B-LT")
    both = _sign(signing_pki, first, seal, profile="seal", level="B-LTA")
    report = verify(io.BytesIO(both), trust_roots=[signing_pki.root.asn1])
    assert report.indication == PASSED, report.to_json()
    kinds = [s.kind for s in report.signatures]
    assert kinds.count("signature") == 2 and kinds[-1] == "doc_timestamp"
    assert report.signatures[0].modification == "form_filling"
    assert all(s.revocation.source == "embedded" for s in report.signatures if s.kind == "signature")

    flipped = bytearray(both)
    flipped[len(first) // 2] ^= 0x01
    assert verify(bytes(flipped), trust_roots=[signing_pki.root.asn1]).indication == FAILED
    assert verify(append_drawing(both), trust_roots=[signing_pki.root.asn1]).indication == FAILED
