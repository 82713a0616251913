"""Replacing a sent document (edXML BussinessDocType 3): ``replaces`` at upload, the link
shown to recipients, and who may replace what (422/409, nothing changed)."""
from __future__ import annotations

import pytest

from exchange.domain.times import vn_today
from exchange.models import Document
from tests.db import engine_from_app, session_scope, store_from_app
from tests.exchange_fixtures import make_pdf, snapshot, store_document, upload_via_api
from tests.integration.exchange.delivery_support import world


@pytest.fixture
def w(app):  # type: ignore[no-untyped-def]
    return world(engine_from_app(app))


def _sealed(app, w, who="clerk", **metadata) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine_from_app(app), write=True) as session:
        return store_document(session, store_from_app(app), w, who, state="sealed", **metadata)


def _dispatch(client, w, doc, to, key, who="clerk"):  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/documents/{doc}/dispatches", json={"to": to},
                    headers={**w.headers(who), "Idempotency-Key": key})
    assert r.status_code == 201, r.json
    return r


def _seal(app, doc: int) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine_from_app(app), write=True) as session:
        row = session.get(Document, doc)
        row.state = "sealed"
        session.add(row)


def test_recipients_see_the_replacement_and_the_replaced_one_marked(app, client, w):
    commune = w.all_communes[0]
    old = _sealed(app, w, subject="Kế hoạch tổ chức hội nghị (có sai sót)")
    _dispatch(client, w, old, [commune], "k-old")
    up = upload_via_api(client, w.headers("clerk"), pdf=make_pdf("thay the"),
                        metadata={"subject": "Kế hoạch tổ chức hội nghị (thay thế)", "replaces": old})
    assert up.status_code == 201, up.json
    new = up.json["id"]
    assert up.json["replaces"] == old and up.json["replaced_by"] is None
    # not yet dispatched: the old one is not shown as replaced
    assert client.get(f"/api/v1/documents/{old}", headers=w.headers("clerk")).json["replaced_by"] is None
    _seal(app, new)
    _dispatch(client, w, new, [commune], "k-new")
    items = client.get("/api/v1/inbox", headers=w.headers(commune)).json["items"]
    by_doc = {item["document"]["id"]: item["document"] for item in items}
    assert by_doc[new]["replaces"] == old and by_doc[new]["replaced_by"] is None
    assert by_doc[old]["replaced_by"] == new and by_doc[old]["replaces"] is None
    assert client.get(f"/api/v1/documents/{old}", headers=w.headers(commune)).json["replaced_by"] == new
    listed = client.get("/api/v1/documents?q=hoi nghi", headers=w.headers("clerk")).json["items"]
    assert {(d["id"], d["replaces"], d["replaced_by"]) for d in listed} == {(old, None, new), (new, old, None)}


def test_only_the_issuer_replaces_its_own_dispatched_document_once(app, client, w):
    engine = engine_from_app(app)
    sent = _sealed(app, w)
    _dispatch(client, w, sent, [w.districts[0]], "k1")
    draft = upload_via_api(client, w.headers("clerk"), pdf=make_pdf("ban nhap")).json["id"]
    theirs = _sealed(app, w, who="other_clerk")
    _dispatch(client, w, theirs, [w.all_communes[0]], "k2", who="other_clerk")
    first = upload_via_api(client, w.headers("clerk"), pdf=make_pdf("lan 1"), metadata={"replaces": sent})
    assert first.status_code == 201, first.json
    refusals = [
        ("clerk", 999999, 422, "invalid"),  # no such document
        ("clerk", theirs, 422, "invalid"),  # another agency's, never received: as if missing
        ("district_clerk", sent, 422, "replace_refused"),  # received, not issued by the district
        ("clerk", draft, 409, "not_dispatched"),
        ("clerk", sent, 409, "already_replaced"),
    ]
    for who, replaces, status, code in refusals:
        before = snapshot(engine, app)
        r = upload_via_api(client, w.headers(who), pdf=make_pdf(f"thu {who} {replaces}"),
                           metadata={"replaces": replaces})
        assert (r.status_code, r.json["error"]["code"]) == (status, code), (who, replaces, r.json)
        assert snapshot(engine, app) == before  # no row, no blob
    bad = upload_via_api(client, w.headers("clerk"), metadata={"replaces": "mot"})
    assert bad.status_code == 422 and "metadata.replaces" in bad.json["error"]["fields"]


def test_the_registers_mark_a_replaced_document(app, client, w):
    commune = w.all_communes[0]
    old = _sealed(app, w, subject="Báo cáo quý (có sai sót)")
    [delivery] = _dispatch(client, w, old, [commune], "k-reg-old").json["deliveries"]
    client.post(f"/api/v1/inbox/{delivery['id']}/ack", headers=w.headers(commune))
    r = client.post(f"/api/v1/inbox/{delivery['id']}/status", json={"status": "accepted"}, headers=w.headers(commune))
    assert r.status_code == 200, r.json
    year = vn_today().year
    register = f"/api/v1/registers/incoming?year={year}"
    [line] = client.get(register, headers=w.headers(commune)).json["items"]
    assert line["document"]["replaced_by"] is None
    up = upload_via_api(client, w.headers("clerk"), pdf=make_pdf("bao cao thay the"),
                        metadata={"subject": "Báo cáo quý (thay thế)", "replaces": old})
    new = up.json["id"]
    _seal(app, new)
    _dispatch(client, w, new, [commune], "k-reg-new")
    [line] = client.get(register, headers=w.headers(commune)).json["items"]
    assert line["document"]["replaced_by"] == new
    csv_text = client.get(register + "&format=csv", headers=w.headers(commune)).data.decode("utf-8-sig")
    assert f"thay thế bởi văn bản {new}" in csv_text
    english = client.get(register + "&format=csv", headers={**w.headers(commune), "Accept-Language": "en"})
    assert f"replaced by document {new}" in english.data.decode("utf-8-sig")
