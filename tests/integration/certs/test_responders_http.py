"""The /pki/* services over real HTTP on 127.0.0.1, checked with cryptography, pyHanko and openssl."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import requests
from asn1crypto import core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from certs.ca import load_dev_pki
from certs.issuance import load_signing_credential, revoke
from tests.db import engine_from_app, session_scope
from tests.integration.certs.helpers import blank_pdf, issue_person, sign_pdf


def _ocsp_query(server, cert: x509.Certificate, *, nonce: bytes | None = None) -> ocsp.OCSPResponse:  # type: ignore[no-untyped-def]
    pki = load_dev_pki(server.settings)
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, pki.issuing, hashes.SHA256())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    body = builder.build().public_bytes(serialization.Encoding.DER)
    reply = requests.post(f"{server.url}/pki/ocsp", data=body,
                          headers={"Content-Type": "application/ocsp-request"}, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/ocsp-response"
    response = ocsp.load_der_ocsp_response(reply.content)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    # signed by the delegated responder, whose certificate the issuing CA signed
    responder = response.certificates[0]
    assert responder == pki.ocsp
    responder.public_key().verify(response.signature, response.tbs_response_bytes,  # type: ignore[union-attr, call-arg]
                                  padding.PKCS1v15(), response.signature_hash_algorithm)  # type: ignore[arg-type]
    return response


def test_ocsp_and_crl_over_http_follow_a_revocation(live_server):
    engine = engine_from_app(live_server.app)
    row = issue_person(engine, live_server.settings)
    cert = x509.load_der_x509_certificate(row.certificate)

    first = _ocsp_query(live_server, cert, nonce=b"0123456789abcdef")
    assert first.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert first.serial_number == cert.serial_number
    assert first.next_update_utc is not None
    nonces = [e.value.nonce for e in first.extensions if isinstance(e.value, x509.OCSPNonce)]
    assert nonces == [b"0123456789abcdef"]

    crl = x509.load_der_x509_crl(requests.get(f"{live_server.url}/pki/crl", timeout=10).content)
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is None

    with session_scope(engine, write=True) as session:
        revoke(session, live_server.settings, row.serial.upper(), "keyCompromise")

    after = _ocsp_query(live_server, cert)
    assert after.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert after.revocation_reason == x509.ReasonFlags.key_compromise

    reply = requests.get(f"{live_server.url}/pki/crl", timeout=10)
    assert reply.headers["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(reply.content)
    pki = load_dev_pki(live_server.settings)
    assert crl.is_signature_valid(pki.issuing.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None and crl.next_update_utc > crl.last_update_utc
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise


def test_ocsp_answers_unknown_for_a_certificate_we_never_issued(live_server):
    pki = load_dev_pki(live_server.settings)
    stranger = (x509.CertificateBuilder().subject_name(pki.tsa.subject).issuer_name(pki.issuing.subject)
                .public_key(pki.tsa.public_key()).serial_number(12345)
                .not_valid_before(pki.tsa.not_valid_before_utc).not_valid_after(pki.tsa.not_valid_after_utc)
                .sign(pki.issuing_key, hashes.SHA256()))
    assert _ocsp_query(live_server, stranger).certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    assert _ocsp_query(live_server, pki.tsa).certificate_status == ocsp.OCSPCertStatus.GOOD


@pytest.mark.parametrize("body", [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"\x30" * 5000])
def test_garbage_to_ocsp_gets_malformed_request(live_server, body):
    reply = requests.post(f"{live_server.url}/pki/ocsp", data=body,
                          headers={"Content-Type": "application/ocsp-request"}, timeout=10)
    assert reply.status_code == 200
    assert ocsp.load_der_ocsp_response(reply.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_oversized_requests_are_refused_with_413(live_server):
    big = b"\x00" * (65 * 1024)
    assert requests.post(f"{live_server.url}/pki/ocsp", data=big, timeout=10).status_code == 413
    assert requests.post(f"{live_server.url}/pki/tsa", data=big, timeout=10,
                         headers={"Content-Type": "application/timestamp-query"}).status_code == 413


def test_garbage_to_tsa_gets_a_rejection_and_wrong_type_415(live_server):
    reply = requests.post(f"{live_server.url}/pki/tsa", data=b"not a request", timeout=10,
                          headers={"Content-Type": "application/timestamp-query"})
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/timestamp-reply"
    # asn1crypto's TimeStampResp wrongly requires the token, so read the status field alone
    status = tsp.PKIStatusInfo.load(core.Sequence.load(reply.content)[0].dump())
    assert status["status"].native == "rejection"
    assert "bad_data_format" in status["fail_info"].native

    reply = requests.post(f"{live_server.url}/pki/tsa", data=b"x", headers={"Content-Type": "text/plain"}, timeout=10)
    assert reply.status_code == 415
    assert reply.json()["error"]["code"] == "unsupported_media_type"


def _write_pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def test_openssl_accepts_ocsp_answers(live_server, tmp_path):
    engine = engine_from_app(live_server.app)
    row = issue_person(engine, live_server.settings)
    cert = x509.load_der_x509_certificate(row.certificate)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(requests.get(f"{live_server.url}/pki/ca.pem", timeout=10).content)
    pki = load_dev_pki(live_server.settings)
    issuer = _write_pem(tmp_path / "issuing.pem", pki.issuing)
    leaf = _write_pem(tmp_path / "leaf.pem", cert)

    def ask() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", "ocsp", "-issuer", str(issuer), "-cert", str(leaf),
                               "-url", f"{live_server.url}/pki/ocsp", "-CAfile", str(ca)],
                              capture_output=True, text=True, timeout=30)

    good = ask()
    assert "Response verify OK" in good.stderr + good.stdout, good.stderr
    assert f"{leaf}: good" in good.stdout

    with session_scope(engine, write=True) as session:
        revoke(session, live_server.settings, row.serial, "keyCompromise")
    revoked = ask()
    assert "Response verify OK" in revoked.stderr + revoked.stdout, revoked.stderr
    assert f"{leaf}: revoked" in revoked.stdout
    assert "Reason: keyCompromise" in revoked.stdout


def test_openssl_verifies_tsa_replies(live_server, tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes("Văn bản cần đóng dấu thời gian".encode())
    query = tmp_path / "q.tsq"
    subprocess.run(["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)],
                   check=True, capture_output=True, timeout=30)
    reply = requests.post(f"{live_server.url}/pki/tsa", data=query.read_bytes(), timeout=10,
                          headers={"Content-Type": "application/timestamp-query"})
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/timestamp-reply"
    (tmp_path / "r.tsr").write_bytes(reply.content)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(requests.get(f"{live_server.url}/pki/ca.pem", timeout=10).content)
    ok = subprocess.run(["openssl", "ts", "-verify", "-queryfile", str(query), "-in", str(tmp_path / "r.tsr"),
                         "-CAfile", str(ca)], capture_output=True, text=True, timeout=30)
    assert "Verification: OK" in ok.stdout, ok.stderr

    other = tmp_path / "other.bin"
    other.write_bytes(b"different data")
    bad = subprocess.run(["openssl", "ts", "-verify", "-data", str(other), "-in", str(tmp_path / "r.tsr"),
                          "-CAfile", str(ca)], capture_output=True, text=True, timeout=30)
    assert "Verification: OK" not in bad.stdout


def test_pyhanko_signs_and_validates_through_the_http_endpoints(live_server):
    """An outside verifier: pyHanko's own HTTP fetchers and HTTP TSA client against our server."""
    engine = engine_from_app(live_server.app)
    row = issue_person(engine, live_server.settings)
    with session_scope(engine) as session:
        credential = load_signing_credential(session, live_server.settings, row.id)
    root = load_dev_pki(live_server.settings).root_asn1

    def fresh_context() -> ValidationContext:
        return ValidationContext(trust_roots=[root], allow_fetching=True, revocation_mode="hard-fail")

    signed = sign_pdf(blank_pdf(), credential.signer, timestamper=HTTPTimeStamper(f"{live_server.url}/pki/tsa"),
                      validation_context=fresh_context())
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    status = validate_pdf_signature(sig, signer_validation_context=fresh_context())
    assert status.bottom_line, status.summary()
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted

    with session_scope(engine, write=True) as session:
        revoke(session, live_server.settings, row.serial, "keyCompromise")
    status = validate_pdf_signature(sig, signer_validation_context=fresh_context())
    assert status.revoked and not status.bottom_line


def test_ocsp_by_get_as_rfc6960_appendix_a(live_server):
    import base64
    from urllib.parse import quote

    row = issue_person(engine_from_app(live_server.app), live_server.settings)
    cert = x509.load_der_x509_certificate(row.certificate)
    pki = load_dev_pki(live_server.settings)
    der = ocsp.OCSPRequestBuilder().add_certificate(cert, pki.issuing, hashes.SHA1()).build().public_bytes(
        serialization.Encoding.DER)
    reply = requests.get(f"{live_server.url}/pki/ocsp/{quote(base64.b64encode(der).decode(), safe='')}", timeout=10)
    assert reply.status_code == 200
    assert ocsp.load_der_ocsp_response(reply.content).certificate_status == ocsp.OCSPCertStatus.GOOD
    bad = requests.get(f"{live_server.url}/pki/ocsp/not-base64!!", timeout=10)
    assert ocsp.load_der_ocsp_response(bad.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
