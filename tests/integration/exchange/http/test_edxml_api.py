"""edXML (QCVN 102:2016) over the API: export → import round trip, the national samples
(imported, or refused with their reason), status packages moving deliveries both ways,
XML attacks and other bad packages refused with nothing changed, and who may do what."""
from __future__ import annotations

import hashlib
import io
import json
import time

import pytest
from sqlmodel import select

from exchange.edxml import parse
from exchange.edxml.model import DocumentPackage, Part, StatusPackage
from exchange.models import Attachment, EdxmlPackage, OutboxEvent
from exchange.services.dispatch import Recipients, dispatch_document
from tests.db import engine_from_app, services_of, session_scope, store_from_app
from tests.exchange_fixtures import caller_for, make_pdf, snapshot, store_document
from tests.integration.exchange.delivery_support import world
from tests.integration.exchange.edxml_support import SAMPLE_DOCUMENT_ID, SAMPLES, package, sample, upload
from tests.unit.exchange.edxml.test_codec import BILLION_LAUGHS


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


def _sealed_with_attachment(app, w, pdf: bytes, extra: bytes) -> int:  # type: ignore[no-untyped-def]
    store = store_from_app(app)
    with session_scope(engine_from_app(app), write=True) as s:
        doc = store_document(s, store, w, state="sealed", pdf=pdf, urgency="very_urgent", due_on="2026-12-31")
        ref = store.put(io.BytesIO(extra))
        s.add(Attachment(document_id=doc, name="Phụ lục số 1.xlsx", blob_sha256=ref.sha256, size=ref.size,
                         content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    return doc


def _dispatch(app, w, doc: int, to: list[str], key: str = "k") -> list[int]:  # type: ignore[no-untyped-def]
    view, _ = dispatch_document(services_of(app), caller_for(w, "clerk"), doc, Recipients(to=tuple(to)), key)
    return [d["id"] for d in view["deliveries"]]


METADATA = ("number", "notation", "doc_type", "subject", "urgency", "issued_on", "place", "signer_name",
            "signer_position", "due_on", "issuer")


def test_export_then_import_gives_the_same_metadata_and_byte_identical_files(app, client, w):
    pdf, extra = make_pdf("Công văn edXML khứ hồi", pages=2), bytes(range(256)) * 300
    doc = _sealed_with_attachment(app, w, pdf, extra)
    commune = w.all_communes[0]
    _dispatch(app, w, doc, [commune, w.all_communes[1]])

    exported = client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers("clerk"))
    assert exported.status_code == 200, exported.json
    assert exported.mimetype == "application/xml" and "attachment" in exported.headers["Content-Disposition"]
    read = parse.parse(exported.data)
    assert isinstance(read, DocumentPackage)
    assert read.sender.organ_id == w.province
    assert {r.organ_id for r in read.recipients} == {commune, w.all_communes[1]}
    assert read.document_id == f"{w.province},2026/11/20,12/UBND-VP" and read.business == 0
    assert [h.organ_id for h in read.trace] == [w.province] and read.priority == 2

    imported = upload(client, w.headers(commune), exported.data)
    assert imported.status_code == 201, imported.json
    new = imported.json["document"]
    original = client.get(f"/api/v1/documents/{doc}", headers=w.headers("clerk")).json
    assert {k: new[k] for k in METADATA} == {k: original[k] for k in METADATA}
    assert new["id"] != doc and new["state"] == "sent"
    assert imported.json["edxml"]["envelope_signature"]["state"] == "absent"
    delivery = imported.json["delivery"]
    assert delivery["status"] == "queued" and delivery["trace"][-1]["via"] == "edxml"

    headers = w.headers(commune)
    assert client.get(f"/api/v1/documents/{new['id']}/content", headers=headers).data == pdf
    attachments = client.get(f"/api/v1/documents/{new['id']}/attachments", headers=headers).json["items"]
    assert [(a["name"], a["sha256"]) for a in attachments] == [("Phụ lục số 1.xlsx", hashlib.sha256(extra).hexdigest())]
    assert client.get(attachments[0]["content_url"], headers=headers).data == extra

    page = client.get("/api/v1/inbox?limit=50", headers=headers).json["items"]
    assert [i["delivery_id"] for i in page][-1] == delivery["id"]
    events = client.get("/api/v1/events?limit=100", headers=headers).json["items"]
    assert any(e["kind"] == "delivery.created" and e["delivery_id"] == delivery["id"] for e in events)

    again = upload(client, headers, exported.data)  # the same package again: the first import
    assert again.status_code == 200 and again.json["delivery"]["id"] == delivery["id"]

    # the issuer does not find the imported copy among its own documents, nor can it recall it
    own = client.get("/api/v1/documents?limit=500", headers=w.headers("clerk")).json["items"]
    assert [d["id"] for d in own] == [doc]
    assert client.get(f"/api/v1/documents/{new['id']}", headers=w.headers("clerk")).status_code == 404
    recall = client.post(f"/api/v1/documents/{new['id']}/recall", json={"reason": "x"}, headers=w.headers("clerk"))
    assert recall.status_code == 404
    assert client.get(f"/api/v1/documents/{new['id']}/edxml", headers=w.headers("clerk")).status_code == 404
    # nor sign, number, seal or add to it: 404 as for anything not its own (a 409 would tell it is here)
    before = snapshot(engine_from_app(app), app)
    for who, path, kwargs in (
            ("signer", "signatures", {"json": {"profile": "person"}}),
            ("clerk", "signatures", {"json": {"profile": "seal"}}),
            ("clerk", "register", {"json": {}}),
            ("clerk", "attachments", {"data": {"file": (io.BytesIO(b"ghi chu"), "ghi-chu.txt")},
                                      "content_type": "multipart/form-data"})):
        refused = client.post(f"/api/v1/documents/{new['id']}/{path}", headers=w.headers(who), **kwargs)
        assert refused.status_code == 404, (path, refused.json)
    assert snapshot(engine_from_app(app), app) == before
    with session_scope(engine_from_app(app)) as s:
        audit = s.exec(select(EdxmlPackage)).all()
        assert len(audit) == 1 and audit[0].imported_by == f"system:{commune}"


def test_export_is_the_issuers_clerk_and_of_a_dispatched_document_only(app, client, w):
    with session_scope(engine_from_app(app), write=True) as s:
        doc = store_document(s, store_from_app(app), w, state="sealed")
    assert client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers("clerk")).json["error"]["code"] == \
        "not_dispatched"
    _dispatch(app, w, doc, [w.all_communes[0]])
    assert client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers("clerk")).status_code == 200
    assert client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers("other_clerk")).status_code == 404
    assert client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers(w.all_communes[0])).status_code == 403
    assert client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers("signer")).status_code == 403


def _codes(w, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The samples' agencies → this test's directory."""
    a, b = w.all_communes[:2]
    return {"000.00.00.A80": w.other_province, "000.00.00.G22": w.other_province, "28.22.H17": a,
            "000.00.00.H41": a, "000.00.00.H14": b, "000.00.00.G17": w.districts[0], "777.77.04.D77": w.other_province,
            "777.77.03.D77": a, **extra}


REFUSALS = {
    "edoc.edxml": "edxml_malformed",  # a From inside From, an undeclared xlink prefix
    "edoc_new.edxml": "edxml_no_pdf",  # its one file is a zip
    "edoc_replacement.edxml": "edxml_no_pdf",
    "edoc_revocation.edxml": "edxml_unknown_document",  # nothing imported yet to revoke
    "edoc_update.edxml": "edxml_unsupported",
    **{name: "edxml_unknown_document" for name in SAMPLES if name.startswith("status_")},
}


def test_every_sample_as_published_is_refused_with_its_reason_and_changes_nothing(app, client, w):
    assert set(REFUSALS) == set(SAMPLES)
    engine = engine_from_app(app)
    before = snapshot(engine, app)
    for name in SAMPLES:
        who = "other_clerk" if name == "status_cancellation_13.edxml" else w.all_communes[0]  # each sample's From
        r = upload(client, w.headers(who), sample(name, _codes(w)))
        assert 400 <= r.status_code < 500, (name, r.status_code, r.json)
        assert r.json["error"]["code"] == REFUSALS[name], (name, r.json)
        assert r.json["error"]["message"]
    assert snapshot(engine, app) == before


def test_the_samples_with_a_pdf_import_and_their_statuses_move_the_delivery(app, client, w):
    a = w.all_communes[0]
    headers = w.headers(a)
    first = upload(client, headers, sample("edoc_new.edxml", _codes(w), pdf=make_pdf("mẫu mới"),
                                           document_id=SAMPLE_DOCUMENT_ID))
    assert first.status_code == 201, first.json
    signature = first.json["edxml"]["envelope_signature"]
    assert signature["state"] == "invalid"  # the samples' broken signature: shown, not a reason to refuse
    assert signature["reason"] == "phần tử Signature không thuộc không gian tên XML-DSig"
    again_en = upload(client, {**headers, "Accept-Language": "en"},
                      sample("edoc_new.edxml", _codes(w), pdf=make_pdf("mẫu mới"), document_id=SAMPLE_DOCUMENT_ID))
    assert again_en.status_code == 200  # the same package: the first import, told in English
    assert again_en.json["edxml"]["envelope_signature"]["reason"] == \
        "the Signature element is not in the XML-DSig namespace"
    assert first.json["edxml"]["business_type"] == 0 and first.json["document"]["issuer"] == w.other_province
    assert first.json["document"]["subject"] == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    delivery = first.json["delivery"]["id"]
    inbox = client.get("/api/v1/inbox?limit=50", headers=headers).json["items"]
    assert inbox[-1]["delivery_id"] == delivery
    assert inbox[-1]["trace"][-1] == {**inbox[-1]["trace"][-1], "via": "edxml", "envelope_signature": "invalid"}
    # the From agency does not see it as its own, nor the copy's status
    assert client.get(f"/api/v1/documents/{first.json['document']['id']}",
                      headers=w.headers("other_clerk")).status_code == 404
    assert client.get(f"/api/v1/deliveries/{delivery}/edxml", headers=w.headers("other_clerk")).status_code == 404

    for name, status in [("status_inbox_01.edxml", "delivered"), ("status_acceptance_03.edxml", "accepted"),
                         ("status_assignment_04.edxml", "assigned"), ("status_processing_05.edxml", "processing"),
                         ("status_finish_06.edxml", "completed")]:
        r = upload(client, headers, sample(name, _codes(w), document_id=SAMPLE_DOCUMENT_ID))
        assert r.status_code == 201, (name, r.json)
        assert r.json["result"]["status"] == status and r.json["edxml"]["status_code"] == name[-8:-6]
    late = upload(client, headers, sample("status_rejection_02.edxml", _codes(w), document_id=SAMPLE_DOCUMENT_ID))
    assert late.status_code == 409 and late.json["error"]["code"] == "invalid_transition"
    not_theirs = upload(client, w.headers(w.all_communes[1]),
                        sample("status_finish_06.edxml", _codes(w), document_id=SAMPLE_DOCUMENT_ID))
    assert not_theirs.status_code == 403 and not_theirs.json["error"]["code"] == "edxml_not_addressed"

    replacement = upload(client, headers, sample("edoc_replacement.edxml", _codes(w), pdf=make_pdf("thay thế"),
                                                 document_id=SAMPLE_DOCUMENT_ID))
    assert replacement.status_code == 201, replacement.json
    assert replacement.json["edxml"]["business_type"] == 3
    assert replacement.json["document"]["replaces"] == first.json["document"]["id"]
    revoked = upload(client, headers, sample("edoc_revocation.edxml", _codes(w), document_id=SAMPLE_DOCUMENT_ID))
    assert revoked.status_code == 201, revoked.json
    replaced_copy = replacement.json["delivery"]["id"]
    assert client.get(f"/api/v1/deliveries/{replaced_copy}/edxml", headers=w.headers("other_clerk")).status_code == 404
    assert revoked.json["delivery"]["id"] == replacement.json["delivery"]["id"]
    assert revoked.json["delivery"]["status"] == "recalled"  # never acknowledged: taken back at once
    kinds = [e["kind"] for e in client.get("/api/v1/events?limit=100", headers=headers).json["items"]]
    assert kinds.count("delivery.created") == 2 and "recall.requested" in kinds
    # From is another system's: its feed here tells nothing of what the recipient did with the imports
    assert client.get("/api/v1/events?limit=100", headers=w.headers(w.other_province)).json["items"] == []
    with session_scope(engine_from_app(app)) as s:
        outbox = [e for e in s.exec(select(OutboxEvent)).all() if e.kind.startswith(("delivery.", "edxml."))]
        assert len(outbox) == 13 and all(w.agency_ids[w.other_province] not in json.loads(e.agency_ids) for e in outbox)


def test_status_packages_both_ways_on_a_document_sent_here(app, client, w):
    a = w.all_communes[0]
    with session_scope(engine_from_app(app), write=True) as s:
        doc = store_document(s, store_from_app(app), w, state="sealed")
    (delivery,) = _dispatch(app, w, doc, [a])
    ours = f"{w.province},2026/11/20,12/UBND-VP"
    codes = _codes(w, **{"000.00.00.G22": w.province})
    assert upload(client, w.headers(a), sample("status_inbox_01.edxml", codes, document_id=ours)).status_code == 201

    exported = client.get(f"/api/v1/deliveries/{delivery}/edxml", headers=w.headers(a))
    assert exported.status_code == 200, exported.json
    status = parse.parse(exported.data)
    assert isinstance(status, StatusPackage) and status.status_code == "01" and status.sender.organ_id == a
    assert status.response_for.document_id == ours and status.response_for.organ_id == w.province
    assert client.get(f"/api/v1/deliveries/{delivery}/edxml", headers=w.headers("clerk")).status_code == 409
    assert client.get(f"/api/v1/deliveries/{delivery}/edxml", headers=w.headers("other_clerk")).status_code == 404

    # 13 from the sender, 16 refused by the recipient, 13 again, 15 accepted
    cancel = sample("status_cancellation_13.edxml", codes, document_id=ours)
    assert upload(client, w.headers(a), cancel).json["error"]["code"] == "edxml_not_addressed"
    asked = upload(client, w.headers("clerk"), cancel)
    assert asked.status_code == 201, asked.json
    assert asked.json["result"]["deliveries"][0]["status"] == "recall_requested"
    thirteen = parse.parse(client.get(f"/api/v1/deliveries/{delivery}/edxml", headers=w.headers("clerk")).data)
    assert thirteen.status_code == "13" and thirteen.sender.organ_id == w.province  # type: ignore[union-attr]
    refused = upload(client, w.headers(a), sample("status_change-rejection_16.edxml", codes, document_id=ours))
    assert refused.status_code == 201 and refused.json["result"]["status"] == "recall_refused"
    kept = parse.parse(client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers("clerk")).data)
    assert kept.business == 0  # type: ignore[union-attr]  # a refused recall: still a new document
    assert upload(client, w.headers("clerk"), cancel).status_code == 201
    accepted = upload(client, w.headers(a), sample("status_change-acceptance_15.edxml", codes, document_id=ours))
    assert accepted.status_code == 201 and accepted.json["result"]["status"] == "recalled"
    seen = client.get(f"/api/v1/documents/{doc}/deliveries", headers=w.headers("clerk")).json["deliveries"][0]
    assert [h["code"] for h in seen["history"]][1:] == ["01", "13", "16", "13", "15"]
    exported = parse.parse(client.get(f"/api/v1/documents/{doc}/edxml", headers=w.headers("clerk")).data)
    assert exported.business == 1  # type: ignore[union-attr]  # revoke, once recalled


def _huge_part_package(w) -> bytes:  # type: ignore[no-untyped-def]
    big = b"%PDF-1.7\n" + b"0" * (parse.MAX_PART_BYTES + 1024)
    return package(w.other_province, [w.all_communes[0]], extra=(Part("cid:2", "lon.bin", "application/pdf", big),))


BAD = {
    "billion-laughs": (lambda w: BILLION_LAUGHS, 422, "edxml_dtd_refused"),
    "external-entity": (lambda w: b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>', 422,
                        "edxml_dtd_refused"),
    "malformed": (lambda w: b"<edXML><unclosed></edXML>", 422, "edxml_malformed"),
    "huge-base64": (_huge_part_package, 413, "edxml_too_large"),
    "unknown-status": (lambda w: sample("status_finish_06.edxml", _codes(w)).replace(b">06<", b">99<"), 422,
                       "edxml_unknown_status"),
    "unknown-from": (lambda w: package("999.99.99.Z99", [w.all_communes[0]]), 422, "edxml_unknown_agency"),
    "unknown-to": (lambda w: package(w.other_province, [w.all_communes[0], "999.99.99.Z99"]), 422,
                   "edxml_unknown_agency"),
    "not-among-to": (lambda w: package(w.other_province, [w.all_communes[1]]), 403, "edxml_not_addressed"),
    "not-a-pdf": (lambda w: package(w.other_province, [w.all_communes[0]], pdf=b"%PDF-1.7 truncated"), 422,
                  "pdf_damaged"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_packages_are_refused_quickly_and_change_nothing(app, client, w, name):
    build, status, code = BAD[name]
    data = build(w)
    engine = engine_from_app(app)
    before = snapshot(engine, app)
    started = time.perf_counter()
    r = upload(client, w.headers(w.all_communes[0]), data)
    assert time.perf_counter() - started < 5
    assert r.status_code == status and r.json["error"]["code"] == code, r.json
    assert snapshot(engine, app) == before


def test_billion_laughs_over_http_is_refused_in_under_a_second(app, client, w):
    upload(client, w.headers(w.all_communes[0]), b"<warm-up/>")
    started = time.perf_counter()
    r = upload(client, w.headers(w.all_communes[0]), BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0
    assert r.status_code == 422 and r.json["error"]["code"] == "edxml_dtd_refused"
