"""A văn thư's whole day over the API (issue 8, "done when"): a letter with an attachment is
uploaded; the leader signs (the stamp found between the title and the printed name); the
clerk registers it (the number written on page 1) and seals; it goes to two communes; one
returns it with a reason (no số đến used), the other accepts it (số đến 1); both registers
list what they should as JSON, CSV and PDF; pdfsig still says both signatures are valid."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from exchange.domain.times import vn_today
from tests.exchange_fixtures import DOCUMENT_METADATA, upload_via_api
from tests.letters import BLOCK_CENTRE_X, PAGE_H, SIGNER, cong_van, ink, render_last_page, signature_block
from tests.pdfsig import cades, make_nss_db, pdfsig
from tests.signing_world import content, pki_template, signing_world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("pdftoppm", "pdftotext", "pdfsig", "certutil")),
                                reason="poppler-utils and libnss3-tools are needed")

ANNEX = "Phụ lục - Danh sách đơn vị.csv"
ANNEX_BYTES = "Đơn vị;Số lượng\nXã An Bình;3\n".encode()


def _text(data: bytes, folder: Path, *args: str) -> str:
    path = folder / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(data)
    run = subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True, timeout=60)
    return " ".join(run.stdout.split())


def test_the_clerk_day(client, settings, signing_world, tmp_path):  # type: ignore[no-untyped-def]
    sw = signing_world
    clerk = sw.headers("clerk")
    year = vn_today().year

    # morning: the clerk uploads the letter and its annex
    unnumbered = json.dumps({k: v for k, v in DOCUMENT_METADATA.items() if k != "number"})  # the register gives it
    r = upload_via_api(client, clerk, pdf=cong_van(name=SIGNER), metadata=unnumbered)
    assert r.status_code == 201, r.get_json()
    doc_id = r.get_json()["id"]
    r = client.post(f"/api/v1/documents/{doc_id}/attachments", headers=clerk, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(ANNEX_BYTES), ANNEX)})
    assert r.status_code == 201, r.get_json()
    annex = r.get_json()

    # the leader signs: the stamp lands in the signing space, between the title and the name
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                    json={"profile": "person"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["placement"] == "signature_block"
    block = signature_block()
    space = (BLOCK_CENTRE_X - 110, block.name_top, BLOCK_CENTRE_X + 110, block.title_bottom)
    page = render_last_page(content(client, sw, doc_id), tmp_path)
    assert ink(page, space, "blue") > 300
    assert ink(page, (0, 0, 595, PAGE_H), "blue") == ink(page, space, "blue")

    # the clerk gives the number from the outgoing register: written on page 1
    r = client.post(f"/api/v1/documents/{doc_id}/register", headers=clerk, json={})
    assert r.status_code == 200, r.get_json()
    numbered = r.get_json()
    assert numbered["number"] == "01" and numbered["notation"] == "UBND-VP" and numbered["issued_on"]
    page_one = _text(content(client, sw, doc_id), tmp_path, "-f", "1", "-l", "1")
    assert "Số: 01" in page_one and "/UBND-VP" in page_one
    assert f"năm {year}" in page_one

    # and seals (the seal covers the number's update)
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=clerk, json={"profile": "seal"})
    assert r.status_code == 201, r.get_json()
    [sealed_annex] = r.get_json()["document"]["attachments"]
    assert sealed_annex["id"] == annex["id"] and sealed_annex["signature"] is not None

    # sent to two communes
    a, b = sw.world.all_communes[:2]
    r = client.post(f"/api/v1/documents/{doc_id}/dispatches", json={"to": [a, b]},
                    headers={**clerk, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["already_delivered"] == []
    deliveries = {d["recipient"]: d["id"] for d in r.get_json()["deliveries"]}

    for code in (a, b):
        [item] = client.get("/api/v1/inbox", headers=sw.headers(code)).get_json()["items"]
        assert [x["name"] for x in item["document"]["attachments"]] == [ANNEX]
        assert item["document"]["number"] == "01"
        ack = client.post(f"/api/v1/inbox/{deliveries[code]}/ack", headers=sw.headers(code))
        assert ack.status_code == 200 and ack.get_json()["code"] == "01"
        assert "incoming_number" not in ack.get_json()["receipt"]

    # a: misdirected, returned with a reason before registration: no số đến used
    r = client.post(f"/api/v1/inbox/{deliveries[a]}/status", headers=sw.headers(a),
                    json={"status": "returned", "reason": "Gửi nhầm nơi nhận"})
    assert r.status_code == 200 and (r.get_json()["code"], r.get_json()["incoming_number"]) == ("02", None)
    # b: registered into its incoming register, số đến 1
    r = client.post(f"/api/v1/inbox/{deliveries[b]}/status", headers=sw.headers(b), json={"status": "accepted"})
    assert r.status_code == 200 and r.get_json() == {"id": deliveries[b], "status": "accepted", "code": "03",
                                                    "incoming_number": 1}

    # the registers, as JSON
    outgoing = client.get(f"/api/v1/registers/outgoing?year={year}", headers=clerk).get_json()
    assert [(i["number"], i["document"]["id"]) for i in outgoing["items"]] == [(1, doc_id)]
    incoming_b = client.get(f"/api/v1/registers/incoming?year={year}", headers=sw.headers(b)).get_json()
    assert [(i["number"], i["delivery_id"]) for i in incoming_b["items"]] == [(1, deliveries[b])]
    assert incoming_b["items"][0]["document"]["reference"] == "01/UBND-VP"
    assert client.get(f"/api/v1/registers/incoming?year={year}", headers=sw.headers(a)).get_json()["items"] == []

    # as CSV (BOM, Vietnamese headers) and as a printable PDF
    r = client.get(f"/api/v1/registers/incoming?year={year}&format=csv", headers=sw.headers(b))
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Ngày đến", "Số đến"] and len(rows) == 2 and rows[1][1] == "1"
    assert rows[1][3] == "01/UBND-VP"
    r = client.get(f"/api/v1/registers/outgoing?year={year}&format=pdf", headers=clerk)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    register_text = _text(r.data, tmp_path)
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐI" in register_text and "01/UBND-VP" in register_text
    assert "Trang 1/1" in register_text

    # what the commune downloaded: both signatures still valid for pdfsig
    received = client.get(f"/api/v1/documents/{doc_id}/content", headers=sw.headers(b))
    assert received.status_code == 200
    nss = make_nss_db(tmp_path / "nss", settings.data_dir / "pki" / "ca.pem")
    blocks = cades(pdfsig(nss, received.data, tmp_path))
    assert len(blocks) == 2 and all(x["Signature Validation"] == "Signature is Valid." for x in blocks), blocks
