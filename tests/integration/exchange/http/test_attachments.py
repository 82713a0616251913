"""Attachments (phụ lục) over HTTP: added to a draft, sealed with the document (a PDF stamped on
page 1, another file with a detached .p7s), read by the recipients, covered by the verification
report; refused — changing nothing — when too big, empty, not a draft or another agency's."""
from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from asn1crypto import pem
from sqlmodel import select

from certs.trust import trust_roots
from exchange.models import Attachment, AuditEvent
from signing.attachments import first_page_top_right
from tests.db import session_scope
from tests.exchange_fixtures import make_pdf, snapshot
from tests.pdfsig import cades, make_nss_db, pdfsig
from tests.signing_world import pki_template, signing_world, upload  # noqa: F401 (fixtures)

PDF_NAME = "Phụ lục I - Bảng kê kinh phí.pdf"
CSV_NAME = unicodedata.normalize("NFD", "Danh sách xã được hỗ trợ.csv")  # as macOS sends it
CSV = "Xã;Số tiền\nAn Bình;1.000.000\nHòa Lộc;2.500.000\n".encode()
TOOLS = all(shutil.which(t) for t in ("pdfsig", "certutil", "pdftotext", "openssl"))


def _attach(client, headers, doc_id, data: bytes, name: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc_id}/attachments", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name)})


def _sign(client, sw, doc_id, who, **body):  # type: ignore[no-untyped-def]
    if body.get("profile") == "seal":  # Decree 30: the clerk numbers the document before the seal
        numbered = client.post(f"/api/v1/documents/{doc_id}/register", headers=sw.headers("clerk"), json={})
        assert numbered.status_code == 200 or numbered.get_json()["error"]["code"] == "already_registered"
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers(who), json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _dispatch(client, sw, doc_id, to: list[str]):  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/documents/{doc_id}/dispatches", headers={**sw.headers("clerk"), "Idempotency-Key": "a1"},
                    json={"to": to})
    assert r.status_code in (200, 201), r.get_json()
    return r.get_json()


def _root_pem(settings, folder: Path) -> Path:  # type: ignore[no-untyped-def]
    path = folder / "root.pem"
    path.write_bytes(b"".join(pem.armor("CERTIFICATE", c.dump()) for c in trust_roots(settings)))
    return path


def _stamp_text(data: bytes, folder: Path) -> str:
    x1, y1, x2, y2 = first_page_top_right((0, 0, 595.28, 841.89))
    (folder / "a.pdf").write_bytes(data)
    return subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", str(x1), "-y", str(842 - y2), "-W", str(x2 - x1),
                           "-H", str(y2 - y1), str(folder / "a.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.skipif(not TOOLS, reason="poppler-utils, libnss3-tools and openssl are needed")
def test_attachments_are_sealed_with_the_document_and_read_by_recipients(client, settings, engine, signing_world,
                                                                         tmp_path):
    sw = signing_world
    world = sw.world
    doc_id = upload(client, sw)
    pdf = make_pdf("Phụ lục kinh phí", pages=2)

    r = _attach(client, sw.headers("clerk"), doc_id, pdf, "../../van-thu/" + PDF_NAME)
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert {k: first[k] for k in ("name", "size", "content_type")} == {"name": PDF_NAME, "size": len(pdf),
                                                                       "content_type": "application/pdf"}
    assert set(first) >= {"id", "name", "sha256", "size", "content_type"}
    assert r.headers["Location"] == f"/api/v1/documents/{doc_id}/attachments/{first['id']}"
    r = _attach(client, sw.headers("clerk"), doc_id, CSV, CSV_NAME)
    assert r.status_code == 201, r.get_json()
    second = r.get_json()
    assert second["name"] == unicodedata.normalize("NFC", CSV_NAME) and second["content_type"] == "text/csv"
    assert second["sealed"] is None and second["signature"] is None

    document = client.get(f"/api/v1/documents/{doc_id}", headers=sw.headers("clerk")).get_json()
    assert [a["id"] for a in document["attachments"]] == [first["id"], second["id"]]
    listed = client.get("/api/v1/documents", headers=sw.headers("clerk")).get_json()["items"]
    assert [[a["name"] for a in d["attachments"]] for d in listed if d["id"] == doc_id] == [[PDF_NAME, second["name"]]]

    _sign(client, sw, doc_id, "signer", profile="person")
    sealed_doc = _sign(client, sw, doc_id, "clerk", profile="seal")["document"]
    pdf_att, csv_att = sealed_doc["attachments"]
    assert pdf_att["sealed"]["sha256"] != first["sha256"] and pdf_att["signature"] is None
    assert csv_att["signature"]["url"] == f"/api/v1/documents/{doc_id}/attachments/{second['id']}/signature"
    assert csv_att["sealed"] is None

    # refused once sealed, changing nothing
    before = snapshot(engine, client.application)
    r = _attach(client, sw.headers("clerk"), doc_id, b"late", "muon.txt")
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "document_closed")
    r = client.delete(f"/api/v1/documents/{doc_id}/attachments/{first['id']}", headers=sw.headers("clerk"))
    assert r.status_code == 409
    assert snapshot(engine, client.application) == before

    commune, stranger = world.all_communes[0], world.all_communes[1]
    _dispatch(client, sw, doc_id, [commune])
    inbox = client.get("/api/v1/inbox", headers=sw.headers(commune)).get_json()
    [item] = [i for i in inbox["items"] if i["document"]["id"] == doc_id]
    assert [a["name"] for a in item["document"]["attachments"]] == [PDF_NAME, second["name"]]
    assert item["document"]["attachments"][0]["sealed"]["sha256"] == pdf_att["sealed"]["sha256"]

    # the recipient reads the sealed PDF: the upload's bytes, then the seal's update
    r = client.get(pdf_att["content_url"], headers=sw.headers(commune))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    sealed_pdf = r.data
    assert sealed_pdf.startswith(pdf) and r.headers["ETag"] == f'"{pdf_att["sealed"]["sha256"]}"'
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''Ph%E1%BB%A5%20l%E1%BB%A5c" in disposition
    assert client.get(pdf_att["content_url"] + "?version=original", headers=sw.headers(commune)).data == pdf
    stamp = _stamp_text(sealed_pdf, tmp_path)
    assert f"Số: {sealed_doc['number']}/UBND-VP" in stamp and "+07:00" in stamp
    # pdfsig checks the signature; it would ask our OCSP responder about the certificate, which
    # no server answers here (the trust is our verifier's, in the report below)
    nss = make_nss_db(tmp_path / "nss", _root_pem(settings, tmp_path))
    blocks = cades(pdfsig(nss, sealed_pdf, tmp_path))
    assert [(b["Signature Field Name"], b["Signature Validation"]) for b in blocks] == [
        ("Seal1", "Signature is Valid.")]

    # the CSV as uploaded, and its .p7s, which openssl checks against those bytes
    r = client.get(csv_att["content_url"], headers=sw.headers(commune))
    assert r.status_code == 200 and r.data == CSV and r.mimetype == "text/csv"
    r = client.get(csv_att["signature"]["url"], headers=sw.headers(commune))
    assert r.status_code == 200 and r.mimetype == "application/pkcs7-signature"
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"] and ".csv.p7s" in r.headers["Content-Disposition"]
    (tmp_path / "x.csv").write_bytes(CSV)
    (tmp_path / "x.csv.p7s").write_bytes(r.data)
    checked = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "x.csv.p7s"),
                              "-content", str(tmp_path / "x.csv"), "-CAfile", str(_root_pem(settings, tmp_path)),
                              "-purpose", "any", "-out", "/dev/null"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr

    # the report covers the attachments
    report = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers(commune)).get_json()
    assert report["indication"] == "PASSED" and report["overall_indication"] == "PASSED"
    assert [(a["name"], a["kind"], a["indication"]) for a in report["attachments"]] == [
        (PDF_NAME, "pades", "PASSED"), (second["name"], "detached_cms", "PASSED")]
    assert report["attachments"][1]["signature"]["signer"]["organization"]
    page = client.get(f"/api/v1/documents/{doc_id}/verification?format=html&lang=vi", headers=sw.headers(commune))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h2>Phụ lục</h2>" in html
    assert PDF_NAME in html and "PDF có chữ ký số của cơ quan" in html and "tệp có chữ ký số rời (.p7s)" in html

    # nobody else reads them: a commune it was not sent to, another province
    for who in (stranger, world.other_province, "other_clerk"):
        for path in (f"/api/v1/documents/{doc_id}/attachments", pdf_att["content_url"], csv_att["content_url"],
                     csv_att["signature"]["url"]):
            r = client.get(path, headers=sw.headers(who))
            assert r.status_code == 404, (who, path, r.status_code)
            assert set(r.get_json()) == {"error"}


def test_the_report_fails_when_an_attachment_blob_no_longer_matches_its_signature(client, settings, engine,
                                                                                  signing_world):
    """The .p7s is checked against the file's bytes: a signature over other bytes is FAILED."""
    sw = signing_world
    doc_id = upload(client, sw)
    att = _attach(client, sw.headers("clerk"), doc_id, CSV, "a.csv").get_json()
    other = _attach(client, sw.headers("clerk"), doc_id, CSV + b"extra", "b.csv").get_json()
    _sign(client, sw, doc_id, "signer", profile="person", level="B-B")
    _sign(client, sw, doc_id, "clerk", profile="seal", level="B-B")
    with session_scope(engine, write=True) as s:  # swap the two signatures
        rows = {r.id: r for r in s.exec(select(Attachment).where(Attachment.document_id == doc_id))}
        a, b = rows[att["id"]], rows[other["id"]]
        a.signature_sha256, b.signature_sha256 = b.signature_sha256, a.signature_sha256
        a.signature_size, b.signature_size = b.signature_size, a.signature_size
        s.add(a)
        s.add(b)
    report = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers("clerk")).get_json()
    assert [(a["indication"], a["sub_indication"]) for a in report["attachments"]] == [
        ("FAILED", "HASH_FAILURE"), ("FAILED", "HASH_FAILURE")]
    assert report["overall_indication"] == "FAILED"
    html = client.get(f"/api/v1/documents/{doc_id}/verification?format=html&lang=en",
                      headers=sw.headers("clerk")).get_data(as_text=True)
    assert html.count("The signature is not valid") >= 2 and "<h2>Attachments</h2>" in html


def test_refused_uploads_change_nothing(client, app, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    assert _attach(client, sw.headers("clerk"), doc_id, CSV, "bang-ke.csv").status_code == 201
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    truncated = make_pdf()[:-40]
    cases = [
        ("clerk", b"", "rong.txt", 422, "empty_file"),
        ("clerk", b"x" * (65 * 1024), "to.bin", 413, "payload_too_large"),
        ("clerk", truncated, "hong.pdf", 422, "pdf_damaged"),
        ("clerk", CSV, "BANG-KE.csv", 409, "attachment_name_taken"),
        ("clerk", CSV, "/tmp/..", 422, "invalid"),
        ("other_clerk", CSV, "khac.csv", 404, "not_found"),
        ("signer", CSV, "ky.csv", 403, "forbidden"),
        (sw.world.province, CSV, "he-thong.csv", 403, "forbidden"),
    ]
    before = snapshot(engine, app)
    for who, data, name, status, code in cases:
        r = _attach(client, sw.headers(who), doc_id, data, name)
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), (name, r.get_json())
        assert r.get_json()["error"]["message"]
    r = _attach(client, sw.headers("clerk"), 999999, CSV, "khong-co.csv")
    assert r.status_code == 404
    r = client.post(f"/api/v1/documents/{doc_id}/attachments", headers=sw.headers("clerk"),
                    content_type="multipart/form-data", data={})
    assert r.status_code == 422
    assert snapshot(engine, app) == before


def test_a_draft_s_attachment_can_be_removed_and_the_name_used_again(client, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    att = _attach(client, sw.headers("clerk"), doc_id, CSV, "bang-ke.csv").get_json()
    url = f"/api/v1/documents/{doc_id}/attachments/{att['id']}"
    assert client.delete(url, headers=sw.headers("other_clerk")).status_code == 404
    assert client.delete(url, headers=sw.headers("signer")).status_code == 403
    assert client.delete(url, headers=sw.headers("clerk")).status_code == 204
    assert client.get(url, headers=sw.headers("clerk")).status_code == 404
    listed = client.get(f"/api/v1/documents/{doc_id}/attachments", headers=sw.headers("clerk")).get_json()
    assert listed == {"items": []}
    assert _attach(client, sw.headers("clerk"), doc_id, CSV, "bang-ke.csv").status_code == 201
    with session_scope(engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]
    assert actions[-3:] == ["document.attachment.add", "document.attachment.delete", "document.attachment.add"]


def test_a_remote_seal_is_refused_while_the_document_has_attachments(client, app, engine, settings, signing_world):
    from tests.signing_world import issue_held_key, record_held_key

    sw = signing_world
    doc_id = upload(client, sw)
    _sign(client, sw, doc_id, "signer", profile="person", level="B-B")
    assert _attach(client, sw.headers("clerk"), doc_id, CSV, "bang-ke.csv").status_code == 201
    held = issue_held_key(settings, full_name="UBND tỉnh Thử Nghiệm", agency_code=sw.world.province,
                          agency_name="UBND tỉnh Thử Nghiệm", title=None)
    record_held_key(engine, held, sw.world.people["clerk"].username)
    before = snapshot(engine, app)
    r = client.post(f"/api/v1/documents/{doc_id}/signatures/prepare", headers=sw.headers("clerk"),
                    json={"certificate": held.pem, "profile": "seal", "level": "B-B"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "key_not_held"), r.get_json()
    assert snapshot(engine, app) == before


def test_a_file_named_pdf_that_is_not_one_gets_a_detached_signature(client, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    r = _attach(client, sw.headers("clerk"), doc_id, b"not a PDF at all", "gia-mao.pdf")
    assert r.status_code == 201 and r.get_json()["content_type"] == "application/octet-stream"
    _sign(client, sw, doc_id, "signer", profile="person", level="B-B")
    [att] = _sign(client, sw, doc_id, "clerk", profile="seal", level="B-B")["document"]["attachments"]
    assert att["sealed"] is None and att["signature"]["size"] > 0
