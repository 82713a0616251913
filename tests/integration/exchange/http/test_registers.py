"""Numbering (cấp số) and the outgoing register over HTTP: the number and date written on
page 1 of a real letter, the person signature still verifying (its report names the
addition), the seal covering it; numbers chosen, typed at upload, taken (409, nothing
changed); the seal refused before the number."""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.trust import trust_roots
from exchange.domain.times import vn_today
from signing.verify import verify
from tests.db import session_scope, store_from_app
from tests.exchange_fixtures import DOCUMENT_METADATA, snapshot, store_document, upload_via_api
from tests.letters import cong_van
from tests.pdfsig import cades, make_nss_db, pdfsig
from tests.signing_world import content, pki_template, signing_world  # noqa: F401 (fixtures)

NEEDS_POPPLER = pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("certutil") and shutil.which("pdftotext")),
                                   reason="poppler-utils and libnss3-tools are needed")


def _register(client, headers, doc_id, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc_id}/register", headers=headers, json=body)


def _page_text(data: bytes, tmp_path, page: int = 1) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "page.pdf"
    path.write_bytes(data)
    run = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(path), "-"],
                         capture_output=True, text=True, check=True, timeout=60)
    return run.stdout


def _expected_date_line(day: date) -> str:
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


@NEEDS_POPPLER
def test_register_writes_number_and_date_on_page_one_and_the_seal_covers_it(client, app, engine, settings,
                                                                            signing_world, tmp_path):
    sw = signing_world
    letter = cong_van(pages=3)
    r = upload_via_api(client, sw.headers("clerk"), pdf=letter, metadata={"number": "", "issued_on": None})
    assert r.status_code == 201, r.get_json()
    doc_id = r.get_json()["id"]
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"), json={"profile": "person"})
    assert r.status_code == 201, r.get_json()

    # the seal needs the number first, and its refusal changes nothing
    before = snapshot(engine, app)
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("clerk"), json={"profile": "seal"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_registered", r.get_json()
    assert snapshot(engine, app) == before

    r = _register(client, sw.headers("clerk"), doc_id)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    today = vn_today()
    assert body["number"] == "01" and body["notation"] == "UBND-VP" and body["issued_on"] == today.isoformat()
    assert body["register"] == {"register": "outgoing", "year": today.year, "number": 1,
                                "registered_at": body["register"]["registered_at"],
                                "number_written": True, "date_written": True}
    assert [(v["seq"], v["kind"]) for v in body["revisions"]] == [(1, "original"), (2, "signed"), (3, "numbered")]

    numbered = content(client, sw, doc_id)
    person_signed = client.get(f"/api/v1/documents/{doc_id}/content?revision=2", headers=sw.headers("clerk")).data
    assert numbered.startswith(person_signed)  # an incremental update: the signed bytes are kept
    text = _page_text(numbered, tmp_path)
    assert "Số: 01" in " ".join(text.split()) and "/UBND-VP" in text
    assert _expected_date_line(today) in " ".join(text.split())
    assert "Số:" in _page_text(person_signed, tmp_path) and "01" not in _page_text(person_signed, tmp_path)

    report = verify(numbered, trust_roots=trust_roots(settings))
    person = report.signatures[0]
    assert person.indication == "PASSED", report.to_json()
    assert person.modification == "annotations", report.to_json()
    assert "ANNOTATIONS_ADDED" in json.dumps(report.to_json()), report.to_json()

    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("clerk"), json={"profile": "seal"})
    assert r.status_code == 201, r.get_json()
    sealed = content(client, sw, doc_id)
    assert sealed.startswith(numbered)  # the seal covers the number and the date
    report = verify(sealed, trust_roots=trust_roots(settings))
    assert report.indication == "PASSED", report.to_json()
    assert [s.indication for s in report.signatures[:2]] == ["PASSED", "PASSED"]
    assert report.signatures[0].modification == "annotations"  # still named after the seal
    assert "Số: 01" in " ".join(_page_text(sealed, tmp_path).split())

    chain = client.get("/pki/ca.pem").data
    root = x509.load_pem_x509_certificates(chain)[-1]
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    blocks = cades(pdfsig(make_nss_db(tmp_path / "nss", root_pem), sealed, tmp_path))
    assert [b["Signature Field Name"] for b in blocks] == ["Person1", "Seal2"]
    assert all(b["Signature Validation"] == "Signature is Valid." for b in blocks), blocks

    # the register lists it
    listed = client.get(f"/api/v1/registers/outgoing?year={today.year}", headers=sw.headers("clerk")).get_json()
    assert [(i["number"], i["document"]["id"], i["document"]["reference"]) for i in listed["items"]] == [
        (1, doc_id, "01/UBND-VP")]


def test_numbers_follow_on_the_clerk_may_choose_a_free_one_and_a_taken_one_is_409(client, app, engine):
    from tests.exchange_fixtures import build_world

    with session_scope(engine, write=True) as s:
        w = build_world(s)
        docs = [store_document(s, store_from_app(app), w, state="signed", number="") for _ in range(5)]
        draft = store_document(s, store_from_app(app), w, number="")
    clerk = w.headers("clerk")
    year = vn_today().year

    assert _register(client, clerk, docs[0]).get_json()["register"]["number"] == 1
    assert _register(client, clerk, docs[1]).get_json()["register"]["number"] == 2
    chosen = _register(client, clerk, docs[2], number=5).get_json()
    assert chosen["number"] == "05" and chosen["register"]["number"] == 5
    assert _register(client, clerk, docs[3]).get_json()["register"]["number"] == 3

    before = snapshot(engine, app)
    taken = _register(client, clerk, docs[4], number=5)
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "number_taken", taken.get_json()
    again = _register(client, clerk, docs[0])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_registered"
    unsigned = _register(client, clerk, draft)
    assert unsigned.status_code == 409 and unsigned.get_json()["error"]["code"] == "not_signed"
    for bad in ({"number": 0}, {"number": "7"}, {"number": 1.5}, {"number": -3}):
        r = _register(client, clerk, docs[4], **bad)
        assert r.status_code == 422, (bad, r.get_json())
    # at upload: a typed number already in this year's register
    upload = upload_via_api(client, clerk, metadata={"number": "5", "issued_on": f"{year}-01-02"})
    assert upload.status_code == 409 and upload.get_json()["error"]["code"] == "number_taken"
    assert snapshot(engine, app) == before  # tables and blob store as they were

    # a number typed at upload is accepted when free, and replaced by the register's at registration
    typed = upload_via_api(client, clerk, metadata={"number": "9", "issued_on": None})
    assert typed.status_code == 201, typed.get_json()
    typed_id = typed.get_json()["id"]
    with session_scope(engine, write=True) as s:
        from exchange.models import Document
        row = s.get(Document, typed_id)
        row.state = "signed"  # type: ignore[union-attr]
        s.add(row)
    assert _register(client, clerk, typed_id).get_json()["register"]["number"] == 4  # the counter's next
    assert _register(client, clerk, docs[4]).get_json()["register"]["number"] == 6  # 5 was taken by hand

    listed = client.get(f"/api/v1/registers/outgoing?year={year}", headers=clerk).get_json()
    assert [i["number"] for i in listed["items"]] == [1, 2, 3, 4, 5, 6]
    other = client.get(f"/api/v1/registers/outgoing?year={year}", headers=w.headers("other_clerk")).get_json()
    assert other["items"] == [] and other["agency"]["code"] == w.other_province
    # another agency's clerk cannot register the province's document
    r = _register(client, w.headers("other_clerk"), docs[4])
    assert r.status_code == 404
    assert client.get(f"/api/v1/registers/outgoing?year={year - 1}", headers=clerk).get_json()["items"] == []


def test_register_filters_are_checked(client, app, engine):
    from tests.exchange_fixtures import build_world

    with session_scope(engine, write=True) as s:
        w = build_world(s)
    clerk = w.headers("clerk")
    for query in ("", "year=abc", "year=2026&colour=red", "year=2026&from=2026-13-01", "year=2026&format=xls",
                  "year=2026&from=2026-05-01&to=2026-04-01"):
        r = client.get(f"/api/v1/registers/outgoing?{query}", headers=clerk)
        assert r.status_code == 422, (query, r.get_json())
        assert set(r.get_json()) == {"error"}
    assert client.get("/api/v1/registers/sideways?year=2026", headers=clerk).status_code == 404


def test_register_json_names(client, app, engine):
    """The JSON names other programs rely on (issue 8)."""
    from tests.exchange_fixtures import build_world

    with session_scope(engine, write=True) as s:
        w = build_world(s)
        doc = store_document(s, store_from_app(app), w, state="signed", **{**DOCUMENT_METADATA, "number": ""})
    body = _register(client, w.headers("clerk"), doc).get_json()
    assert {"number", "notation", "issued_on"} <= set(body)
    page = client.get(f"/api/v1/registers/outgoing?year={vn_today().year}", headers=w.headers("auditor")).get_json()
    assert {"year", "items"} <= set(page)
    item = page["items"][0]
    assert {"number", "registered_at", "document"} <= set(item)
    assert item["document"]["subject"] == DOCUMENT_METADATA["subject"] and item["document"]["paper"] is False
