"""The inbox and events feed pages on PostgreSQL read the covering indexes (migration 0017)
alone, and the rows whose text is too long for them from their own partial index: a page is
the same on both databases, in seq order, whichever index each row lives in."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from exchange.models import COVERED_TEXT_MAX
from exchange.services import delivery as deliveries
from exchange.services import events, inbox
from exchange.services.dispatch import Recipients, dispatch_document
from tests.conftest import TEST_DATABASE_URL
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import sealed_document, world

LONG_REASON = "ệ" * 1000  # a reason at its longest (1,000 characters), 3,000 bytes of UTF-8


def _send(services, w, codes, key):  # type: ignore[no-untyped-def]
    doc = sealed_document(services.engine, w)
    view, _ = dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=tuple(codes)), key)
    return {d["recipient"]: d["id"] for d in view["deliveries"]}


def _pages(poll, size: int):  # type: ignore[no-untyped-def]
    items, cursor = [], None
    while page := poll(cursor, size)["items"]:
        items += page
        cursor = str(page[-1]["seq"])
    return items


def test_an_event_too_long_for_the_covering_index_keeps_its_place_in_the_feed(engine, services):
    w = world(engine)
    a, b, c = w.all_communes[:3]
    ids = _send(services, w, [a, b, c], "k")
    deliveries.acknowledge(services, caller_for(w, a), ids[a])
    deliveries.acknowledge(services, caller_for(w, b), ids[b])
    deliveries.change_status(services, caller_for(w, b), ids[b], "returned", LONG_REASON)
    deliveries.acknowledge(services, caller_for(w, c), ids[c])
    with engine.connect() as conn:
        longest = conn.execute(sa.text("SELECT max(length(CAST(data AS BLOB))) FROM agency_event")
                               if conn.dialect.name == "sqlite" else
                               sa.text("SELECT max(octet_length(data)) FROM agency_event")).scalar_one()
    assert longest > COVERED_TEXT_MAX  # the returned event lives in the partial index of long rows
    clerk = caller_for(w, "clerk")
    for size in (1, 2, 50):
        sent = _pages(lambda cursor, limit: events.poll(services, clerk, after=cursor, limit=limit), size)
        assert [(e["seq"], e["kind"]) for e in sent] == [(1, "delivery.acked"), (2, "delivery.acked"),
                                                        (3, "delivery.status"), (4, "delivery.acked")]
        assert sent[2]["data"]["reason"] == LONG_REASON and sent[3]["data"] == {"recipient": c}


def test_a_delivery_whose_trace_is_too_long_for_the_covering_index_keeps_its_place_in_the_inbox(engine, services):
    w = world(engine)
    commune = w.all_communes[0]
    sent = [_send(services, w, [commune], f"k{i}")[commune] for i in range(3)]
    hops = [{"agency": w.province, "at": "2026-12-04T00:00:00Z"}] * 60
    assert len(json.dumps(hops)) > COVERED_TEXT_MAX
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE delivery SET trace = :t WHERE id = :i"), {"t": json.dumps(hops), "i": sent[1]})
    me = caller_for(w, commune)
    for size in (1, 2, 50):
        items = _pages(lambda cursor, limit: inbox.poll(services, me, after=cursor, limit=limit), size)
        assert [(i["seq"], i["delivery_id"]) for i in items] == [(1, sent[0]), (2, sent[1]), (3, sent[2])]
        assert items[1]["trace"] == hops and len(items[0]["trace"]) == 1


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="index-only scans: PostgreSQL's covering indexes")
def test_both_pages_are_index_only_scans_of_the_covering_indexes(engine, services):
    w = world(engine)
    commune = w.all_communes[0]
    ids = [_send(services, w, [commune], f"k{i}")[commune] for i in range(3)]
    deliveries.acknowledge(services, caller_for(w, commune), ids[0])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE delivery, agency_event")  # the visibility map
    agency = caller_for(w, commune).agency_id
    with engine.connect() as conn:
        # on a table of a few rows a sequential scan is cheaper: the test asks what the index gives
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        for statement, index in ((inbox._PG_ROWS, "ix_delivery_page"), (events._PG_ROWS, "ix_agency_event_page")):
            compiled = statement.compile(dialect=conn.dialect)
            plan = "\n".join(conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + str(compiled),
                compiled.construct_params({"agency": agency, "after": 0, "limit": 50})).scalars())
            assert f"Index Only Scan using {index} on" in plan, plan
            # the plan reads the covering index alone; how many heap pages it still visits is the
            # visibility map's: VACUUM cannot mark a page all-visible while another session of the
            # shared server holds an older snapshot (the other suite, a bench), so no count is asserted
            assert f"Index Scan using {index} on" not in plan, plan
