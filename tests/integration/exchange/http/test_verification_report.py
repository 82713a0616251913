"""The verification endpoints as an auditor relies on them (issue 11, items 6 and 8): our
own CA's revocation beats a "good" OCSP answer carried in the file, the report names the
document, the typed schema and declared parameters, one escaped log line per untrusted chain."""
from __future__ import annotations

import io
import logging
import time

from certs.issuance import revoke
from certs.models import Credential
from tests import verify_fixtures as vf
from tests.db import session_scope
from tests.exchange_fixtures import make_pdf, snapshot
from tests.signing_world import content, pki_template, signing_world, upload  # noqa: F401 (fixtures)


def _self_signed(pdf: bytes, common_name: str) -> bytes:
    """Signed with a self-signed certificate whose subject holds ``common_name`` as given."""
    from datetime import datetime, timedelta, timezone

    from asn1crypto import keys as asn1_keys, x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    signer = signers.SimpleSigner(
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        asn1_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption())), None)
    out = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Sig1"), signer).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out)
    return out.getvalue()


def _sign(client, sw, doc_id, who="signer", **body):  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers(who),
                    json={"profile": "person", **body})
    assert r.status_code == 201, r.get_json()


def _post_verify(client, sw, data: bytes, name: str = "công văn.pdf", who: str = "auditor", query: str = ""):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/verify{query}", headers=sw.headers(who),
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_signer_revoked_since_signing_fails_despite_the_good_ocsp_answer_in_the_file(
        client, app, engine, settings, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    _sign(client, sw, doc_id, level="B-LT")  # the file carries a "good" OCSP answer and a timestamp
    data = content(client, sw, doc_id)
    before = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers("auditor")).get_json()
    assert before["indication"] == "PASSED", before
    assert before["signatures"][0]["revocation"]["source"] == "own_ca"

    time.sleep(1.1)  # revocation times have whole seconds: make "after the timestamp" unambiguous
    with session_scope(engine, write=True) as s:
        revoke(s, settings, s.get(Credential, sw.credentials["signer"]).serial, "keyCompromise")
    state = snapshot(engine, app)
    for report in (client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers("auditor")).get_json(),
                   _post_verify(client, sw, data).get_json()):
        assert (report["indication"], report["sub_indication"]) == ("FAILED", "REVOKED"), report
        sig = report["signatures"][0]
        assert sig["revocation"]["status"] == "revoked" and sig["revocation"]["source"] == "own_ca"
        assert sig["revocation"]["reason"] == "keyCompromise" and sig["revocation"]["revoked_at"]
        # revoked after a trusted timestamp: the policy table's FAILED/REVOKED, and it says so
        assert any("after the timestamped signing time" in r for r in sig["reasons"]), sig["reasons"]
        assert "REVOKED_BY_OWN_CA" in [f["code"] for f in report["findings"]]
    assert snapshot(engine, app) == state  # verifying changes nothing


def test_a_b_b_file_of_our_own_ca_passes_from_the_in_process_state(client, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    _sign(client, sw, doc_id, level="B-B")  # no revocation data in the file: offline alone, TRY_LATER
    report = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers("auditor")).get_json()
    assert report["indication"] == "PASSED", report
    assert report["signatures"][0]["revocation"] == {"status": "good", "source": "own_ca", "revoked_at": None,
                                                     "reason": None}


def test_the_report_names_the_stored_document_and_the_uploaded_file(client, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    _sign(client, sw, doc_id)
    stored = client.get(f"/api/v1/documents/{doc_id}", headers=sw.headers("auditor")).get_json()
    report = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers("auditor")).get_json()
    assert report["document"] == {"file_name": f"{doc_id}-2.pdf", "document_id": doc_id, "revision": 2,
                                  "number": stored["number"] or None, "notation": stored["notation"] or None,
                                  "subject": stored["subject"]}
    page = client.get(f"/api/v1/documents/{doc_id}/verification?format=html",
                      headers=sw.headers("auditor")).get_data(as_text=True)
    assert stored["subject"] in page and report["sha256"] in page and "Trích yếu" in page
    uploaded = _post_verify(client, sw, content(client, sw, doc_id), name="Quyết định 12.pdf").get_json()
    assert uploaded["document"]["file_name"] == "Quyết định 12.pdf"
    assert uploaded["sha256"] == report["sha256"]


def test_format_and_lang_are_declared_and_checked(client, signing_world):
    sw = signing_world
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, method, report_schema in (("/api/v1/verify", "post", "VerificationReport"),
                                        ("/api/v1/documents/{document_id}/verification", "get",
                                         "StoredVerificationReport")):
        operation = spec["paths"][path][method]
        params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert params["format"]["schema"]["enum"] == ["json", "html"]
        assert params["lang"]["schema"]["enum"] == ["vi", "en"]
        content_types = operation["responses"]["200"]["content"]
        assert content_types["application/json"]["schema"] == {"$ref": f"#/components/schemas/{report_schema}"}
        assert "text/html" in content_types
    schema = spec["components"]["schemas"]["VerificationReport"]
    assert {"indication", "signatures", "findings", "messages", "sha256", "document"} <= set(schema["properties"])
    stored = spec["components"]["schemas"]["StoredVerificationReport"]
    assert {"attachments", "overall_indication"} <= set(stored["properties"])
    signature = spec["components"]["schemas"]["ReportSignatureOut"]["properties"]
    assert signature["indication"]["enum"] == ["PASSED", "INDETERMINATE", "FAILED", "NO_SIGNATURE"]
    assert "checks_evaluated" in signature

    before = _post_verify(client, sw, make_pdf(), query="?lang=fr")
    assert before.status_code == 422 and before.get_json()["error"]["code"] == "invalid"
    assert _post_verify(client, sw, make_pdf(), query="?format=xml").status_code == 422
    english = _post_verify(client, sw, make_pdf(), query="?format=html&lang=en")
    assert english.status_code == 200 and english.mimetype == "text/html"
    assert "Digital signature verification report" in english.get_data(as_text=True)


def test_a_tampered_file_reads_not_evaluated(client, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    _sign(client, sw, doc_id)
    data = content(client, sw, doc_id)
    tampered = vf.flip_byte(data, data.index(b"/MediaBox [0 0 ") + len(b"/MediaBox [0 0 "))
    report = _post_verify(client, sw, tampered).get_json()
    assert report["signatures"][0]["sub_indication"] == "HASH_FAILURE"
    assert report["signatures"][0]["checks_evaluated"] is False
    page = _post_verify(client, sw, tampered, query="?format=html").get_data(as_text=True)
    assert "chưa đánh giá" in page and "chưa bị thu hồi" not in page


def test_one_escaped_log_line_per_untrusted_or_self_signed_chain(client, signing_world, caplog):
    sw = signing_world
    data = _self_signed(make_pdf(), "Kẻ giả mạo\nlienthong INFO forged line")
    with caplog.at_level(logging.WARNING, logger="lienthong.verification.chains"):
        response = _post_verify(client, sw, data, name="thư\x1b[2Kđến.pdf")
        report = response.get_json()
    assert response.status_code == 200, (response.status_code, report)
    assert report["indication"] == "INDETERMINATE", report
    lines = [r.getMessage() for r in caplog.records if r.name == "lienthong.verification.chains"]
    assert len(lines) == 1, lines
    assert "\n" not in lines[0] and "\r" not in lines[0]
    assert "Kẻ giả mạo\\x0alienthong INFO forged line" in lines[0]
    assert "thư\\x1b[2Kđến.pdf" in lines[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lienthong.verification.chains"):
        doc_id = upload(client, sw)
        _sign(client, sw, doc_id)
        client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers("auditor"))
    assert not [r for r in caplog.records if r.name == "lienthong.verification.chains"]  # trusted: no line


def test_another_agencys_caller_cannot_verify_a_stored_document(client, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    for who in ("other_clerk", "other_signer"):
        r = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers(who))
        assert r.status_code == 404, (who, r.get_json())
    assert client.get(f"/api/v1/documents/{doc_id}/verification").status_code == 401
    assert client.post("/api/v1/verify", data={"file": (io.BytesIO(make_pdf()), "a.pdf")},
                       content_type="multipart/form-data").status_code == 401
