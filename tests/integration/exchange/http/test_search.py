"""``GET /api/v1/documents`` search and filters, the inbox's filters, and unknown query
parameters refused (422 ``unknown_parameter``) on the API's GETs."""
from __future__ import annotations

from datetime import timedelta

import pytest

from exchange.domain.times import vn_today
from exchange.models import Document
from exchange.services import receipts
from tests.db import engine_from_app, session_scope, store_from_app
from tests.exchange_fixtures import store_document
from tests.integration.exchange.delivery_support import sealed_document, world


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


def _documents(app, w, rows):  # type: ignore[no-untyped-def]
    """Upload each (metadata) through the service; returns their ids in order."""
    with session_scope(engine_from_app(app), write=True) as session:
        return [store_document(session, store_from_app(app), w, **row) for row in rows]


def _ids(client, w, query, who="clerk"):  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/documents?{query}", headers=w.headers(who))
    assert r.status_code == 200, r.json
    return [item["id"] for item in r.json["items"]]


def test_q_finds_subject_and_reference_without_case_or_diacritics(app, client, w):
    decision, letter, report = _documents(app, w, [
        {"number": "5", "notation": "QĐ-UBND", "doc_type": "Quyết định", "subject": "Quyết định thành lập tổ công tác"},
        {"number": "12", "notation": "UBND-VP", "doc_type": "Công văn", "subject": "V/v triển khai Đề án 06"},
        {"number": "7", "notation": "BC-UBND", "doc_type": "Báo cáo", "subject": "Báo cáo tình hình quý IV"},
    ])
    assert _ids(client, w, "q=quyet dinh") == [decision]
    assert _ids(client, w, "q=QUYẾT ĐỊNH") == [decision]
    assert _ids(client, w, "q=de an") == [letter]  # đ folds to d
    assert _ids(client, w, "q=12/ubnd-vp") == [letter]  # số/ký hiệu as printed
    assert _ids(client, w, "q=ubnd") == [decision, letter, report]
    assert _ids(client, w, "q=ubnd quy") == [decision, report]  # every word must occur
    assert _ids(client, w, "q=100%25") == []  # a literal %, not a wildcard
    # the other province's clerk searches its own documents only
    assert _ids(client, w, "q=ubnd", who="other_clerk") == []


def test_filters_by_type_urgency_state_and_issue_dates_and_pages(app, client, w):
    a, b, c = _documents(app, w, [
        {"doc_type": "Công văn", "urgency": "flash", "issued_on": "2026-01-10"},
        {"doc_type": "Công văn", "urgency": "normal", "issued_on": "2026-03-01", "state": "sealed"},
        {"doc_type": "Tờ trình", "urgency": "flash", "issued_on": "2026-05-20"},
    ])
    assert _ids(client, w, "doc_type=Công văn") == [a, b]
    assert _ids(client, w, "urgency=flash") == [a, c]
    assert _ids(client, w, "state=sealed") == [b]
    assert _ids(client, w, "issued_from=2026-02-01") == [b, c]
    assert _ids(client, w, "issued_from=2026-01-10&issued_to=2026-03-01") == [a, b]
    assert _ids(client, w, "doc_type=Công văn&urgency=flash") == [a]
    first = client.get("/api/v1/documents?urgency=flash&limit=1", headers=w.headers("clerk")).json
    assert [i["id"] for i in first["items"]] == [a] and first["next_cursor"] == a
    assert _ids(client, w, f"urgency=flash&after={first['next_cursor']}") == [c]
    bad = client.get("/api/v1/documents?issued_from=2026-05-01&issued_to=2026-01-01", headers=w.headers("clerk"))
    assert bad.status_code == 422 and "issued_to" in bad.json["error"]["fields"]
    bad = client.get("/api/v1/documents?urgency=soon", headers=w.headers("clerk"))
    assert bad.status_code == 422 and "urgency" in bad.json["error"]["fields"]


def test_unknown_query_parameters_are_422_on_every_get_of_the_api(app, client, w):
    doc = sealed_document(engine_from_app(app), w)
    for path in ("/api/v1/documents?urgncy=flash", "/api/v1/inbox?stauts=accepted", f"/api/v1/documents/{doc}?x=1",
                 f"/api/v1/documents/{doc}/content?rev=1", "/api/v1/agencies?parnet=x",
                 f"/api/v1/documents/{doc}/verification?format=html&langue=vi"):
        r = client.get(path, headers=w.headers("clerk"))
        assert r.status_code == 422, (path, r.status_code)
        assert r.json["error"]["code"] == "unknown_parameter", path
        assert set(r.json["error"]["fields"]) == {path.rsplit("&", 1)[-1].split("?")[-1].split("=")[0]}
    # declared ones pass, and an anonymous caller still learns only that it must sign in
    assert client.get("/api/v1/documents?urgency=flash", headers=w.headers("clerk")).status_code == 200
    assert client.get("/api/v1/documents?urgncy=flash").status_code == 401


def _send(client, w, doc, to, key):  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/documents/{doc}/dispatches", json={"to": to},
                    headers={**w.headers("clerk"), "Idempotency-Key": key})
    assert r.status_code == 201, r.json
    return {d["recipient"]: d["id"] for d in r.json["deliveries"]}


def _inbox(client, who, query=""):  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/inbox?{query}", headers=who)
    assert r.status_code == 200, r.json
    return r.json


def test_inbox_filters_status_urgency_sender_dates_and_overdue(app, client, w, tmp_path):
    engine = engine_from_app(app)
    commune = w.all_communes[0]
    me = w.headers(commune)
    past, future = vn_today() - timedelta(days=1), vn_today() + timedelta(days=5)
    docs = [sealed_document(engine, w, content=f"%PDF {i}".encode()) for i in range(3)]
    with session_scope(engine, write=True) as session:
        for doc, urgency, due in zip(docs, ["flash", "normal", "normal"], [past, past, future]):
            row = session.get(Document, doc)
            row.urgency, row.due_on = urgency, due
            session.add(row)
    ids = [_send(client, w, doc, [commune], f"k{i}")[commune] for i, doc in enumerate(docs)]
    # a second sender: the district sends one of its own
    district_doc = sealed_document(engine, w, code=w.districts[0], content=b"%PDF district")
    r = client.post(f"/api/v1/documents/{district_doc}/dispatches", json={"to": [commune]},
                    headers={**w.headers(w.districts[0]), "Idempotency-Key": "d1"})
    assert r.status_code == 201, r.json
    from_district = r.json["deliveries"][0]["id"]
    receipts.load_or_create_key(tmp_path)
    assert client.post(f"/api/v1/inbox/{ids[1]}/ack", headers=me).status_code == 200
    client.post(f"/api/v1/inbox/{ids[1]}/status", json={"status": "accepted"}, headers=me)

    def got(query: str) -> list[int]:
        return [item["delivery_id"] for item in _inbox(client, me, query)["items"]]

    assert got("") == [*ids, from_district]
    assert got("status=accepted") == [ids[1]] and got("status=queued") == [ids[0], ids[2], from_district]
    assert got("urgency=flash") == [ids[0]]
    assert got(f"sender={w.districts[0]}") == [from_district] and got(f"sender={w.province}") == ids
    assert got("overdue=true") == [ids[0], ids[1]]  # due yesterday, not completed
    today = vn_today().isoformat()
    assert got(f"from={today}&to={today}") == [*ids, from_district]
    assert got(f"to={(vn_today() - timedelta(days=1)).isoformat()}") == []
    assert got(f"from={(vn_today() + timedelta(days=1)).isoformat()}") == []
    # the cursor works alike: after the first match, the next one
    page = _inbox(client, me, "urgency=normal&limit=1")
    assert [i["delivery_id"] for i in page["items"]] == [ids[1]]
    assert got(f"urgency=normal&after={page['next_cursor']}") == [ids[2], from_district]
    # a filtered poll leaves the unfiltered one whole (no "nothing newer" remembered from it)
    assert got(f"status=accepted&after={page['next_cursor']}") == []
    assert got(f"after={page['next_cursor']}") == [ids[2], from_district]
    for bad, field in (("sender=999.99.99.H99", "sender"), ("from=2026-05-02&to=2026-05-01", "to"),
                       ("status=lost", "status"), ("overdue=maybe", "overdue")):
        r = client.get(f"/api/v1/inbox?{bad}", headers=me)
        assert r.status_code == 422 and field in r.json["error"]["fields"], bad
    # another agency's inbox shows none of it, filters or not
    assert _inbox(client, w.headers(w.all_communes[1]), f"sender={w.province}")["items"] == []
    assert _inbox(client, w.headers("other_clerk"), "overdue=true")["items"] == []


def test_a_filtered_long_poll_waits_for_a_match(app, client, w):
    """With ``wait``, a delivery that does not match does not end a filtered poll: it answers
    empty after the wait, with the cursor unchanged."""
    commune = w.all_communes[0]
    _send(client, w, sealed_document(engine_from_app(app), w), [commune], "k")
    page = _inbox(client, w.headers(commune), "urgency=flash&wait=0.3")
    assert page == {"items": [], "next_cursor": "0"}
