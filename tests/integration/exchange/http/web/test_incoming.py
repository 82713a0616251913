"""Văn bản đến in the pages: the inbox with its filters and urgency highlight, the newest
first; register (03, with its số đến), return with a reason (02), 04–06 — through the same
services as the API; never another agency's copies, and nothing changed by a refusal."""
from __future__ import annotations

import sqlalchemy as sa
import pytest

from exchange.models import Delivery, Document
from exchange.services import dispatch as dispatch_service
from tests.db import session_scope
from tests.exchange_fixtures import build_world, caller_for, snapshot, store_document
from tests.integration.exchange.http.web.test_foundation import BROWSER, log_in


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def _send(app, world, engine, subject: str, urgency: str, to: list[str]) -> int:  # type: ignore[no-untyped-def]
    services = app.extensions["lienthong.services"]
    with session_scope(engine, write=True) as s:
        doc = store_document(s, services.blobs, world, "clerk", state="sealed", subject=subject, urgency=urgency)
    dispatch_service.dispatch_document(services, caller_for(world, "clerk"), doc,
                                       dispatch_service.Recipients(to=tuple(to)), f"k-{doc}")
    return doc


def _delivery(engine, doc: int, code_id: int) -> Delivery:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return s.exec(sa.select(Delivery).where(Delivery.document_id == doc,
                                                Delivery.recipient_agency_id == code_id)).scalar_one()


def test_the_inbox_lists_newest_first_highlights_urgency_and_filters(app, client, world, engine):
    district = world.districts[0]
    _send(app, world, engine, "Công văn thường", "normal", [district])
    _send(app, world, engine, "Công điện hỏa tốc", "flash", [district])
    log_in(client, world, "district_clerk")
    html = client.get("/incoming").get_data(as_text=True)
    assert html.index("Công điện hỏa tốc") < html.index("Công văn thường")  # newest first
    assert 'class="urgency-flash"' in html and "hỏa tốc" in html
    assert 'src="/static/web/incoming.js"' in html and "<script>" not in html
    flash_only = client.get("/incoming?urgency=flash").get_data(as_text=True)
    assert "Công điện hỏa tốc" in flash_only and "Công văn thường" not in flash_only
    assert client.get("/incoming?urgency=sometime").status_code == 422
    rows = client.get("/incoming?rows=1").get_data(as_text=True)
    assert rows.lstrip().startswith("<tr") and "Công điện hỏa tốc" in rows


def test_register_then_process_and_return_with_a_reason(app, client, world, engine):
    district, other = world.districts
    a = _send(app, world, engine, "Văn bản để vào sổ", "normal", [district])
    b = _send(app, world, engine, "Văn bản gửi nhầm", "normal", [district])
    csrf = log_in(client, world, "district_clerk")
    did = world.agency_ids[district]
    first, second = _delivery(engine, a, did), _delivery(engine, b, did)
    assert client.post(f"/incoming/{first.id}/status", data={"csrf_token": csrf, "status": "accepted"}).status_code == 303
    moved = _delivery(engine, a, did)
    assert moved.status == "accepted" and moved.incoming_number == 1 and moved.receipt  # acked (01) then 03
    for status in ("assigned", "processing"):
        client.post(f"/incoming/{first.id}/status", data={"csrf_token": csrf, "status": status})
    assert _delivery(engine, a, did).status == "processing"
    before = snapshot(engine, app)
    client.post(f"/incoming/{second.id}/status", data={"csrf_token": csrf, "status": "returned"})  # no reason
    assert snapshot(engine, app) == before
    assert 'class="alert error"' in client.get("/incoming").get_data(as_text=True)
    client.post(f"/incoming/{second.id}/status", data={"csrf_token": csrf, "status": "returned",
                                                         "reason": "Không thuộc thẩm quyền"})
    returned = _delivery(engine, b, did)
    assert returned.status == "returned" and returned.incoming_number is None


def test_another_agencys_copies_are_neither_shown_nor_moved(app, client, world, engine):
    district, other = world.districts
    doc = _send(app, world, engine, "Chỉ cho huyện một", "normal", [district])
    theirs = _delivery(engine, doc, world.agency_ids[district])
    csrf = log_in(client, world, "other_clerk")
    assert "Chỉ cho huyện một" not in client.get("/incoming").get_data(as_text=True)
    before = snapshot(engine, app)
    client.post(f"/incoming/{theirs.id}/status", data={"csrf_token": csrf, "status": "accepted"})
    assert snapshot(engine, app) == before
    with session_scope(engine) as s:
        assert s.get(Document, doc).state == "sent"


def test_only_clerks_move_copies(client, world, engine):
    log_in(client, world, "signer")
    assert client.get("/incoming", headers=BROWSER).status_code == 200
    assert client.post("/incoming/1/status", data={}, headers=BROWSER).status_code == 400  # no token
