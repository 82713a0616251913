"""Receive (01) → register (03) or return (02), over HTTP: the ack gives no number, accepting
gives the số đến (1, 2, … per agency and year, shared with paper documents registered by
``POST /registers/incoming``), returning uses none; the registers as JSON, CSV and PDF."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pypdfium2 as pdfium
import pytest

from exchange.domain.times import vn_today
from tests.db import session_scope
from tests.exchange_fixtures import build_world, snapshot
from tests.integration.exchange.delivery_support import sealed_document

PAPER = {"author": "Sở Tài chính tỉnh Thử Nghiệm", "reference": "301/STC-NS", "document_date": "2026-11-28",
         "doc_type": "Công văn", "subject": "V/v phân bổ kinh phí năm 2027", "handler": "Phòng Kinh tế",
         "due_on": "2026-12-20"}


def _world_with_a_dispatch(client, engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        w = build_world(s)
    doc = sealed_document(engine, w)
    a, b = w.all_communes[:2]
    r = client.post(f"/api/v1/documents/{doc}/dispatches", json={"to": [a, b]},
                    headers={**w.headers("clerk"), "Idempotency-Key": "gửi-hai-xã"})
    assert r.status_code == 201, r.get_json()
    ids = {d["recipient"]: d["id"] for d in r.get_json()["deliveries"]}
    return w, doc, a, b, ids


def test_ack_gives_no_number_return_uses_none_accept_registers_the_incoming_number(client, app, engine):
    w, doc, a, b, ids = _world_with_a_dispatch(client, engine)
    year = vn_today().year
    for code in (a, b):
        ack = client.post(f"/api/v1/inbox/{ids[code]}/ack", headers=w.headers(code))
        assert ack.status_code == 200 and ack.get_json()["code"] == "01"
        assert "incoming_number" not in ack.get_json() and "incoming_number" not in ack.get_json()["receipt"]

    # a returns it: a reason is required, no number is used
    before = snapshot(engine, app)
    r = client.post(f"/api/v1/inbox/{ids[a]}/status", json={"status": "returned"}, headers=w.headers(a))
    assert r.status_code == 422 and snapshot(engine, app) == before
    r = client.post(f"/api/v1/inbox/{ids[a]}/status", json={"status": "returned", "reason": "Gửi nhầm nơi nhận"},
                    headers=w.headers(a))
    assert r.status_code == 200 and r.get_json() == {"id": ids[a], "status": "returned", "code": "02",
                                                    "incoming_number": None}
    assert client.get(f"/api/v1/registers/incoming?year={year}", headers=w.headers(a)).get_json()["items"] == []

    # b accepts it: số đến 1; a paper letter that came by post: 2
    r = client.post(f"/api/v1/inbox/{ids[b]}/status", json={"status": "accepted"}, headers=w.headers(b))
    assert r.status_code == 200 and r.get_json() == {"id": ids[b], "status": "accepted", "code": "03",
                                                    "incoming_number": 1}
    paper = client.post("/api/v1/registers/incoming", json=PAPER, headers=w.headers(b))
    assert paper.status_code == 201, paper.get_json()
    assert paper.get_json()["number"] == 2 and paper.get_json()["document"]["paper"] is True

    page = client.get(f"/api/v1/registers/incoming?year={year}", headers=w.headers(b)).get_json()
    assert page["register"] == "incoming" and page["year"] == year and page["agency"]["code"] == b
    first, second = page["items"]
    assert (first["number"], first["delivery_id"], first["status"], first["document"]["id"]) == (1, ids[b], "accepted",
                                                                                               doc)
    assert first["document"]["reference"] == "12/UBND-VP" and first["document"]["author"] == "UBND tỉnh Thử Nghiệm"
    assert first["document"]["document_date"] == "2026-11-20" and first["registered_on"] == vn_today().isoformat()
    assert (second["number"], second["delivery_id"], second["document"]["id"]) == (2, None, None)
    assert second["document"]["reference"] == "301/STC-NS" and second["due_on"] == "2026-12-20"
    assert second["handler"] == "Phòng Kinh tế"
    # the sender's side is unchanged by the recipient's register
    assert client.get(f"/api/v1/registers/incoming?year={year}", headers=w.headers("clerk")).get_json()["items"] == []


def test_paper_registration_checks_its_input_and_changes_nothing_when_refused(client, app, engine):
    with session_scope(engine, write=True) as s:
        w = build_world(s)
    before = snapshot(engine, app)
    for bad in ({}, {**PAPER, "author": ""}, {**PAPER, "subject": None}, {**PAPER, "document_date": "30/11/2026"},
                {**PAPER, "copies": "many"}, {**PAPER, "colour": "red"}, {**PAPER, "due_on": "2026-01-01"}, []):
        r = client.post("/api/v1/registers/incoming", json=bad, headers=w.headers("clerk"))
        assert r.status_code == 422, (bad, r.get_json())
        assert set(r.get_json()) == {"error"} and r.get_json()["error"]["code"] == "invalid"
    r = client.post("/api/v1/registers/incoming", data="not json", headers={**w.headers("clerk"),
                                                                            "Content-Type": "text/plain"})
    assert r.status_code == 422
    assert snapshot(engine, app) == before
    # with a scan, as a multipart form
    import json
    r = client.post("/api/v1/registers/incoming", headers=w.headers("clerk"), content_type="multipart/form-data",
                    data={"metadata": json.dumps(PAPER), "scan": (io.BytesIO(b"\x89PNG scan"), "scan.png")})
    assert r.status_code == 201, r.get_json()
    assert len(r.get_json()["document"]["scan_sha256"]) == 64


def _register_many_paper(client, w, code: str, count: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        body = {**PAPER, "reference": f"{i + 1}/STC-NS", "subject": f"V/v nội dung số {i + 1}: Nguyễn Thị Lấp Lánh"}
        assert client.post("/api/v1/registers/incoming", json=body, headers=w.headers(code)).status_code == 201


def test_the_register_as_csv_with_bom_and_as_a_printable_pdf(client, app, engine, tmp_path):
    with session_scope(engine, write=True) as s:
        w = build_world(s)
    year = vn_today().year
    _register_many_paper(client, w, "clerk", 45)

    r = client.get(f"/api/v1/registers/incoming?year={year}&format=csv", headers=w.headers("clerk"))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == f'attachment; filename="so-van-ban-den-{year}.csv"'
    assert r.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows Vietnamese
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Ngày đến", "Số đến", "Tác giả"] and len(rows) == 46
    assert rows[1][1] == "1" and rows[1][3] == "1/STC-NS" and "Nguyễn Thị Lấp Lánh" in rows[1][5]
    english = client.get(f"/api/v1/registers/incoming?year={year}&format=csv",
                         headers={**w.headers("clerk"), "Accept-Language": "en"})
    assert english.data.decode("utf-8-sig").startswith("Date received,Incoming number,Author")

    r = client.get(f"/api/v1/registers/incoming?year={year}&format=pdf", headers=w.headers("clerk"))
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    pdf = pdfium.PdfDocument(r.data)
    pages = len(pdf)
    assert pages >= 2
    width, height = pdf[0].get_size()
    assert (round(width), round(height)) == (842, 595)  # A4 landscape
    pdf.close()
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is needed to check the text")
    path = tmp_path / "so.pdf"
    path.write_bytes(r.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in flat and f"Năm {year}" in flat and "UBND tỉnh Thử Nghiệm" in flat
    for header in ("Ngày đến", "Số đến", "Tác giả", "Số, ký hiệu", "Tên loại và trích yếu", "Ghi chú"):
        assert header in flat, header
    assert "Nguyễn Thị Lấp Lánh" in flat and "45/STC-NS" in flat
    assert f"Trang 1/{pages}" in flat and f"Trang {pages}/{pages}" in flat
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "NotoSans" in fonts and " yes " in fonts  # embedded

    outgoing = client.get(f"/api/v1/registers/outgoing?year={year}&format=pdf", headers=w.headers("clerk"))
    path.write_bytes(outgoing.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐI" in flat and "(chưa có văn bản nào)" in flat and "Số lượng bản" in flat
