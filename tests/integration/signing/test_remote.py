"""Remote two-step signing: the private key stays with the test (the 'client')."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from errors import Gone, Unprocessable
from signing.errors import SealRefused
from signing.remote import complete, prepare
from signing.sign import sign
from tests.pdfs import make_pdf
from tests.signing_pki import offline_statuses, person, seal, signing_pki  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def official(signing_pki):  # type: ignore[no-untyped-def]
    return signing_pki.issue_person("Phạm Thị Hồng Nhung", "Phó Chủ tịch")


def _client_sign(key, digest: bytes) -> bytes:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    return key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


@pytest.mark.parametrize("level", ["B-B", "B-LT", "B-LTA"])
def test_round_trip(signing_pki, official, level):  # type: ignore[no-untyped-def]
    prepared = prepare(io.BytesIO(make_pdf()), official.pem, level=level, chain=[signing_pki.issuing.asn1],
                       timestamper=signing_pki.timestamper())
    assert prepared.digest_algorithm == "sha256" and len(prepared.digest) == 32
    state = json.loads(prepared.session_state)  # JSON-able, and no key material in it
    assert "PRIVATE" not in prepared.session_state.decode()
    assert hashlib.sha256(__import__("base64").b64decode(state["signed_attrs"])).digest() == prepared.digest
    result = complete(prepared.session_state, _client_sign(official.key, prepared.digest), prepared_pdf=prepared.prepared_pdf,
                      timestamper=signing_pki.timestamper(), validation_context=signing_pki.validation_context())
    data = result.data()
    assert result.level == level and result.field_name == prepared.field_name
    sig = PdfFileReader(io.BytesIO(data)).embedded_regular_signatures[0]
    status = validate_pdf_signature(sig, signer_validation_context=signing_pki.validation_context())
    assert status.bottom_line, status.summary()
    if level != "B-B":
        assert all(s.trusted for s in offline_statuses(signing_pki, data).values())


def test_remote_person_then_server_seal_both_valid_offline(signing_pki, official, seal):  # type: ignore[no-untyped-def]
    prepared = prepare(io.BytesIO(make_pdf()), official.pem, level="B-LT", chain=[signing_pki.issuing.asn1],
                       timestamper=signing_pki.timestamper())
    signed = complete(prepared.session_state, _client_sign(official.key, prepared.digest), prepared_pdf=prepared.prepared_pdf,
                      timestamper=signing_pki.timestamper(), validation_context=signing_pki.validation_context())
    sealed = sign(io.BytesIO(signed.data()), seal, profile="seal", level="B-LTA",
                  timestamper=signing_pki.timestamper(), validation_context=signing_pki.validation_context())
    statuses = offline_statuses(signing_pki, sealed.data())
    assert len(statuses) == 2 and all(s.bottom_line and s.trusted for s in statuses.values())


def test_remote_seal_backfills_a_b_t_person_signature(signing_pki, person):  # type: ignore[no-untyped-def]
    first = sign(io.BytesIO(make_pdf()), person, level="B-T", timestamper=signing_pki.timestamper())
    agency_seal = signing_pki.issue_seal()
    prepared = prepare(io.BytesIO(first.data()), agency_seal.pem, profile="seal", level="B-LT",
                       chain=[signing_pki.issuing.asn1], timestamper=signing_pki.timestamper())
    out = io.BytesIO()
    complete(prepared.session_state, _client_sign(agency_seal.key, prepared.digest), prepared_pdf=prepared.prepared_pdf, output=out,
             timestamper=signing_pki.timestamper(), validation_context=signing_pki.validation_context())
    statuses = offline_statuses(signing_pki, out.getvalue())
    assert set(statuses) == {"Person1", "Seal2"}
    assert all(s.bottom_line and s.trusted for s in statuses.values()), {k: v.summary() for k, v in statuses.items()}


def test_wrong_signature_is_refused_and_nothing_is_written(signing_pki, official):  # type: ignore[no-untyped-def]
    prepared = prepare(io.BytesIO(make_pdf()), official.pem, level="B-T", chain=[signing_pki.issuing.asn1],
                       timestamper=signing_pki.timestamper())
    other = signing_pki.issue_person("Kẻ Giả Mạo")
    out = io.BytesIO()
    for bad in (_client_sign(other.key, prepared.digest),                      # another key
                _client_sign(official.key, hashlib.sha256(b"other").digest()),  # another digest
                b"\x00" * 256, b""):
        with pytest.raises(Unprocessable) as err:
            complete(prepared.session_state, bad, prepared_pdf=prepared.prepared_pdf, timestamper=signing_pki.timestamper(), output=out)
        assert err.value.code == "bad_signature"
    assert out.getvalue() == b""


def test_expired_session_is_refused(signing_pki, official):  # type: ignore[no-untyped-def]
    prepared = prepare(io.BytesIO(make_pdf()), official.pem, level="B-B", ttl=timedelta(seconds=-1))
    with pytest.raises(Gone) as err:
        complete(prepared.session_state, _client_sign(official.key, prepared.digest), prepared_pdf=prepared.prepared_pdf)
    assert err.value.code == "session_expired"


def test_a_prepared_pdf_of_another_session_is_refused(signing_pki, official):  # type: ignore[no-untyped-def]
    """The state names the prepared PDF by its hash: the state is small (the PDF travels
    apart) and one session's signature cannot be embedded in another file."""
    first = prepare(io.BytesIO(make_pdf(pages=1)), official.pem, level="B-B")
    second = prepare(io.BytesIO(make_pdf(pages=2)), official.pem, level="B-B")
    assert len(first.session_state) < 10_000 and first.prepared_pdf.startswith(b"%PDF")
    with pytest.raises(Unprocessable) as err:
        complete(first.session_state, _client_sign(official.key, first.digest), prepared_pdf=second.prepared_pdf)
    assert err.value.code == "invalid_session"


def test_garbage_state_and_certificate_are_422(signing_pki):  # type: ignore[no-untyped-def]
    with pytest.raises(Unprocessable):
        complete(b"{not json", b"x", prepared_pdf=b"%PDF-1.7")
    with pytest.raises(Unprocessable):
        prepare(io.BytesIO(make_pdf()), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", level="B-B")


def test_prepare_applies_the_seal_rule(signing_pki):  # type: ignore[no-untyped-def]
    agency_seal = signing_pki.issue_seal()
    with pytest.raises(SealRefused):
        prepare(io.BytesIO(make_pdf()), agency_seal.pem, profile="seal", level="B-B")
