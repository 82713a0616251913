"""The registers run on the Vietnamese calendar: numbers restart at 00:00 on 1 January in
Asia/Ho_Chi_Minh (17:00 UTC on 31 December), for outgoing and incoming alike."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from exchange.services import registers
from exchange.services.registers import PaperDocumentIn
from tests.db import session_scope
from tests.exchange_fixtures import build_world, caller_for, store_document

LAST_SECOND_OF_2026 = datetime(2026, 12, 31, 16, 59, 59, tzinfo=timezone.utc)  # 23:59:59 in Hà Nội
FIRST_SECOND_OF_2027 = datetime(2026, 12, 31, 17, 0, 0, tzinfo=timezone.utc)  # 00:00:00 on 1 January there
PAPER = {"author": "Sở Y tế", "doc_type": "Công văn", "subject": "V/v tiêm chủng"}


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    now = {"at": LAST_SECOND_OF_2026}
    monkeypatch.setattr(registers, "utcnow", lambda: now["at"])
    return now


def test_numbers_restart_on_1_january_in_vietnam(engine, services, clock):
    with session_scope(engine, write=True) as s:
        w = build_world(s)
        docs = [store_document(s, services.blobs, w, state="signed", number="") for _ in range(3)]
    clerk = caller_for(w, "clerk")
    first = registers.register_outgoing(services, clerk, docs[0])
    second = registers.register_outgoing(services, clerk, docs[1])
    paper = registers.register_paper(services, clerk, PaperDocumentIn().load(PAPER))
    assert [(r["register"]["year"], r["register"]["number"]) for r in (first, second)] == [(2026, 1), (2026, 2)]
    assert first["issued_on"] == "2026-12-31" and (paper["year"], paper["number"]) == (2026, 1)

    clock["at"] = FIRST_SECOND_OF_2027
    third = registers.register_outgoing(services, clerk, docs[2])
    assert (third["register"]["year"], third["register"]["number"], third["issued_on"]) == (2027, 1, "2027-01-01")
    paper = registers.register_paper(services, clerk, PaperDocumentIn().load(PAPER))
    assert (paper["year"], paper["number"], paper["registered_on"]) == (2027, 1, "2027-01-01")

    old = registers.register_rows(services, clerk, "outgoing", 2026)
    new = registers.register_rows(services, clerk, "outgoing", 2027)
    assert [i["number"] for i in old["items"]] == [1, 2] and [i["number"] for i in new["items"]] == [1]
    # the period filter is in Vietnamese dates too
    day = registers.register_rows(services, clerk, "outgoing", 2026, LAST_SECOND_OF_2026.date(),
                                  LAST_SECOND_OF_2026.date())
    assert [i["number"] for i in day["items"]] == [1, 2]


def test_a_delivery_acked_before_this_change_keeps_the_number_its_ack_drew(engine, services):
    from exchange.models import Delivery
    from exchange.services import delivery as deliveries
    from exchange.services.dispatch import Recipients, dispatch_document
    from tests.integration.exchange.delivery_support import sealed_document

    with session_scope(engine, write=True) as s:
        w = build_world(s)
    doc = sealed_document(engine, w)
    commune = w.all_communes[0]
    view, _ = dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=(commune,)), "k")
    delivery_id = view["deliveries"][0]["id"]
    me = caller_for(w, commune)
    deliveries.acknowledge(services, me, delivery_id)
    with session_scope(engine, write=True) as s:  # what the old ack left: a number, no register line
        row = s.get(Delivery, delivery_id)
        row.incoming_number, row.incoming_year = 7, 2026  # type: ignore[union-attr]
        s.add(row)
    assert deliveries.change_status(services, me, delivery_id, "accepted")["incoming_number"] == 7
    page = registers.register_rows(services, me, "incoming", 2026)
    assert [(i["number"], i["delivery_id"]) for i in page["items"]] == [(7, delivery_id)]
