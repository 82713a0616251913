"""A recipient agency reads exactly the revision dispatched to it; nobody else reads anything.

The dispatch rows are written directly here (dispatch itself is tested in test_dispatch*);
what is checked is the documents endpoints' reading rule."""
from __future__ import annotations

import hashlib

import pytest

from exchange.models import Delivery, Dispatch, Revision
from tests.db import store_from_app
from tests.db import session_scope
from tests.exchange_fixtures import build_world, make_pdf, store_document


@pytest.fixture
def sent(app, engine):
    store = store_from_app(app)
    with session_scope(engine, write=True) as s:
        world = build_world(s)
        doc_id = store_document(s, store, world, pdf=make_pdf("bản gốc"), state="sealed")
        signed = make_pdf("bản đã ký")
        ref = store.put(__import__("io").BytesIO(signed))
        rev2 = Revision(document_id=doc_id, seq=2, blob_sha256=ref.sha256, size=ref.size, kind="signed", profile="seal")
        s.add(rev2)
        s.flush()
        dispatch = Dispatch(document_id=doc_id, revision_id=rev2.id, sender_agency_id=world.agency_ids[world.province],
                            idempotency_key="k1", request_sha256="0" * 64)
        s.add(dispatch)
        s.flush()
        commune = world.all_communes[0]
        delivery = Delivery(dispatch_id=dispatch.id, document_id=doc_id, recipient_agency_id=world.agency_ids[commune],
                            addressed_agency_id=world.agency_ids[commune], seq=1, status="delivered")
        s.add(delivery)
        s.flush()
        return world, doc_id, signed, delivery.id


def test_the_recipient_reads_the_dispatched_revision_only(client, sent):
    world, doc_id, signed, _delivery = sent
    commune = world.headers(world.all_communes[0])
    doc = client.get(f"/api/v1/documents/{doc_id}", headers=commune)
    assert doc.status_code == 200 and [r["seq"] for r in doc.json["revisions"]] == [2]
    assert doc.json["sha256"] == hashlib.sha256(signed).hexdigest()
    content = client.get(f"/api/v1/documents/{doc_id}/content", headers=commune)
    assert content.status_code == 200 and content.data == signed
    assert client.get(f"/api/v1/documents/{doc_id}/content?revision=1", headers=commune).status_code == 404
    # the issuer still sees both revisions
    assert [r["seq"] for r in client.get(f"/api/v1/documents/{doc_id}", headers=world.headers("clerk")).json["revisions"]] == [1, 2]


def test_other_agencies_and_recalled_deliveries_read_nothing(client, engine, sent):
    world, doc_id, _signed, delivery_id = sent
    for who in (world.all_communes[1], world.districts[0], world.other_province):
        assert client.get(f"/api/v1/documents/{doc_id}/content", headers=world.headers(who)).status_code == 404
    with session_scope(engine, write=True) as s:
        s.get(Delivery, delivery_id).status = "recalled"
    assert client.get(f"/api/v1/documents/{doc_id}", headers=world.headers(world.all_communes[0])).status_code == 404


def test_the_first_download_by_the_recipient_is_recorded_for_the_sender(client, engine, sent):
    world, doc_id, _signed, delivery_id = sent
    issuer = world.headers("clerk")
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=issuer).status_code == 200
    with session_scope(engine) as s:
        assert s.get(Delivery, delivery_id).fetched_at is None  # the issuer's own reads do not count
    commune = world.headers(world.all_communes[0])
    started = client.get(f"/api/v1/documents/{doc_id}/content", headers=commune)
    assert started.status_code == 200
    started.close()  # the recipient went away before the body was sent: not fetched
    with session_scope(engine) as s:
        assert s.get(Delivery, delivery_id).fetched_at is None
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=commune).data  # the whole body, read
    with session_scope(engine) as s:
        first = s.get(Delivery, delivery_id).fetched_at
    assert first is not None
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=commune).status_code == 200
    with session_scope(engine) as s:
        assert s.get(Delivery, delivery_id).fetched_at == first  # later downloads keep the first time
    view = client.get(f"/api/v1/documents/{doc_id}/deliveries", headers=issuer)
    assert view.status_code == 200
    (entry,) = view.json["deliveries"]
    assert entry["id"] == delivery_id and entry["fetched_at"] is not None


def _commune_clerk_logs_in(client, engine, world) -> None:  # type: ignore[no-untyped-def]
    from exchange.services import accounts

    with session_scope(engine, write=True) as s:
        accounts.add_user(s, username="vanthu.xa", agency_code=world.all_communes[0], roles=["clerk"],
                          full_name="Lý Thị Xã", position="Văn thư", password=world.password, actor="test")
    assert client.post("/api/v1/session", json={"username": "vanthu.xa", "password": world.password}).status_code == 200


def _fetched(engine, delivery_id):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return s.get(Delivery, delivery_id).fetched_at


@pytest.mark.parametrize("site", ["cross-site", "same-site", None])
def test_a_browser_download_reached_from_elsewhere_changes_nothing(client, engine, sent, site):
    """No state change on a GET a page of another site can make: with the session cookie, the
    file is served but the copy stays unfetched unless the browser says the request came from
    our own pages (or the user typed the address); a request without the header is not told apart."""
    world, doc_id, signed, delivery_id = sent
    _commune_clerk_logs_in(client, engine, world)
    headers = {"Sec-Fetch-Site": site} if site else {}
    r = client.get(f"/api/v1/documents/{doc_id}/content", headers=headers)
    assert r.status_code == 200 and r.data == signed
    assert _fetched(engine, delivery_id) is None
    # another agency's caller with a cookie is still refused, header or not
    client.delete("/api/v1/session")
    assert client.post("/api/v1/session", json={"username": "vanthu.bencanh", "password": world.password}).status_code == 200
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 404


@pytest.mark.parametrize("site", ["same-origin", "none"])
def test_a_browser_download_from_our_pages_marks_the_copy_fetched(client, engine, sent, site):
    world, doc_id, signed, delivery_id = sent
    _commune_clerk_logs_in(client, engine, world)
    r = client.get(f"/api/v1/documents/{doc_id}/content", headers={"Sec-Fetch-Site": site})
    assert r.status_code == 200 and r.data == signed
    assert _fetched(engine, delivery_id) is not None


def test_a_token_download_marks_the_copy_fetched_whatever_the_header(client, engine, sent):
    world, doc_id, signed, delivery_id = sent
    headers = {**world.headers(world.all_communes[0]), "Sec-Fetch-Site": "cross-site"}
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=headers).data == signed
    assert _fetched(engine, delivery_id) is not None
