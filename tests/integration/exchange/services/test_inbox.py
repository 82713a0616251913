"""The inbox: order, cursor, isolation, free empty polls, long-poll wake-ups (also across processes)."""
from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from errors import Unprocessable
from exchange.services import inbox
from exchange.services.dispatch import Recipients, dispatch_document
from exchange.services.documents import caller_received
from storage.db import make_engine
from tests.db import build_services, session_scope
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import sealed_document, world


def _send(services, w, codes, key):  # type: ignore[no-untyped-def]
    doc = sealed_document(services.engine, w)
    dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=tuple(codes)), key)
    return doc


class QueryCounter:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self)

    def __call__(self, *args) -> None:  # type: ignore[no-untyped-def]
        self.count += 1


def test_items_come_oldest_first_with_metadata_and_a_cursor(engine, services):
    w = world(engine)
    commune = w.all_communes[0]
    docs = [_send(services, w, [commune], f"k{i}") for i in range(3)]
    me = caller_for(w, commune)
    page = inbox.poll(services, me, limit=2)
    assert [i["document"]["id"] for i in page["items"]] == docs[:2]
    item = page["items"][0]
    assert item["sender"] == w.province and item["status"] == "queued"
    assert item["document"]["subject"] and len(item["document"]["sha256"]) == 64
    assert item["content_url"] == f"/api/v1/documents/{docs[0]}/content?revision=1"
    assert item["trace"][0]["agency"] == w.province
    rest = inbox.poll(services, me, after=page["next_cursor"], limit=50)
    assert [i["document"]["id"] for i in rest["items"]] == docs[2:]
    empty = inbox.poll(services, me, after=rest["next_cursor"])
    assert empty == {"items": [], "next_cursor": rest["next_cursor"]}


def test_an_agency_sees_only_its_own_deliveries_and_can_read_only_what_it_received(engine, services):
    w = world(engine)
    a, b = w.all_communes[:2]
    doc = _send(services, w, [a], "k")
    assert inbox.poll(services, caller_for(w, b))["items"] == []
    assert inbox.poll(services, caller_for(w, "other_clerk"))["items"] == []
    with session_scope(engine) as session:
        assert caller_received(session, caller_for(w, a), doc)
        assert not caller_received(session, caller_for(w, b), doc)
        assert not caller_received(session, caller_for(w, "other_clerk"), doc)


# the events feed's pages have the same bounds (test_events)
BAD_PAGE_ARGS = [({"after": "abc"}, "after"), ({"after": "-1"}, "after"), ({"limit": 0}, "limit"),
                 ({"limit": 201}, "limit"), ({"wait": 61}, "wait"), ({"wait": -1}, "wait")]


@pytest.mark.parametrize("args, field", BAD_PAGE_ARGS)
def test_bad_query_values_are_422(engine, services, args, field):
    w = world(engine)
    with pytest.raises(Unprocessable) as info:
        inbox.poll(services, caller_for(w, w.all_communes[0]), **args)
    assert field in info.value.fields


def test_an_empty_poll_costs_no_query_once_the_mark_is_known_and_news_lifts_it(engine, services):
    w = world(engine)
    commune = w.all_communes[0]
    me = caller_for(w, commune)
    _send(services, w, [commune], "k0")
    first = inbox.poll(services, me)  # starts the watcher; may query
    notifier = services.notifier
    deadline = time.monotonic() + 10
    while not notifier.listening and time.monotonic() < deadline:
        time.sleep(0.05)
    assert notifier.listening
    inbox.poll(services, me, after=first["next_cursor"])  # learns the mark
    counter = QueryCounter(services.engine)
    for _ in range(20):
        assert inbox.poll(services, me, after=first["next_cursor"])["items"] == []
    assert counter.count == 0
    _send(services, w, [commune], "k1")
    assert len(inbox.poll(services, me, after=first["next_cursor"])["items"]) == 1


def test_a_long_poll_answers_as_soon_as_a_dispatch_commits_in_this_process(engine, services):
    w = world(engine)
    commune = w.all_communes[0]
    doc = sealed_document(services.engine, w)
    timer = threading.Timer(0.5, dispatch_document,
                            args=(services, caller_for(w, "clerk"), doc, Recipients(to=(commune,)), "late"))
    started = time.monotonic()
    timer.start()
    page = inbox.poll(services, caller_for(w, commune), wait=30)
    timer.join()
    assert len(page["items"]) == 1
    assert time.monotonic() - started < 15  # woken, not timed out


def _dispatch_elsewhere(url: str, data_dir: str, caller, doc: int, commune: str) -> None:  # type: ignore[no-untyped-def]
    time.sleep(1.0)
    other = build_services(url, Path(data_dir))
    dispatch_document(other, caller, doc, Recipients(to=(commune,)), "from-another-process")
    other.close()


def test_a_long_poll_wakes_on_a_dispatch_committed_by_another_process(engine, services, database_url, tmp_path):
    w = world(engine)
    commune = w.all_communes[0]
    doc = sealed_document(services.engine, w)
    me = caller_for(w, commune)
    inbox.poll(services, me)  # the listener/watcher starts before the other process writes
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_dispatch_elsewhere,
                       args=(database_url, str(tmp_path / "other"), caller_for(w, "clerk"), doc, commune))
    started = time.monotonic()
    proc.start()
    page = inbox.poll(services, me, wait=40)
    proc.join(30)
    assert proc.exitcode == 0
    assert [i["document"]["id"] for i in page["items"]] == [doc]
    assert time.monotonic() - started < 20  # woken by NOTIFY / data_version, not by the timeout


def test_the_per_dispatch_cache_belongs_to_one_database(tmp_path):
    """Two databases with the same ids (as in tests, or a restored copy) never mix their pages:
    each Services object owns its caches."""
    from storage.schema import import_all_models

    pages = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        engine = make_engine(url)
        import_all_models().create_all(engine)
        w = world(engine)
        engine.dispose()
        built = build_services(url, tmp_path / name)
        commune = w.all_communes[0]
        doc = sealed_document(built.engine, w, content=name.encode())
        dispatch_document(built, caller_for(w, "clerk"), doc, Recipients(to=(commune,)), "k")
        pages.append(inbox.poll(built, caller_for(w, commune))["items"][0]["document"]["sha256"])
        built.close()
    assert pages[0] != pages[1]


def test_the_one_statement_page_shows_what_the_two_statement_page_shows(engine, services):
    """The unfiltered page (on PostgreSQL one statement: histories aggregated, times formatted
    by the server) and a filtered one matching everything (rows, then histories) agree item
    for item: history steps with and without a reason, times, numbers."""
    from datetime import date

    from exchange.services import delivery

    w = world(engine)
    commune = w.all_communes[0]
    for i in range(3):
        _send(services, w, [commune], f"same-{i}")
    me = caller_for(w, commune)
    first, second, _third = inbox.poll(services, me)["items"]
    delivery.acknowledge(services, me, first["delivery_id"])
    delivery.change_status(services, me, first["delivery_id"], "accepted")
    delivery.acknowledge(services, me, second["delivery_id"])
    delivery.change_status(services, me, second["delivery_id"], "returned", reason="Sai thể thức")
    agency = me.agency_id
    page = inbox.fetch(services, agency, 0, 50)
    filtered = inbox.fetch(services, agency, 0, 50, inbox.InboxFilters(received_from=date(2000, 1, 1)))
    assert page == filtered and len(page) == 3
    accepted, returned, queued = page
    assert [(s["status"], s["code"]) for s in accepted["history"]] == [("delivered", "01"), ("accepted", "03")]
    assert accepted["incoming_number"] == 1 and set(accepted["history"][0]) == {"status", "code", "at"}
    assert returned["history"][-1] == {"status": "returned", "code": "02", "at": returned["history"][-1]["at"],
                                       "reason": "Sai thể thức"}
    assert queued["history"] == [] and queued["created_at"].endswith("Z") and len(queued["created_at"]) == 20


def test_the_page_leaves_its_connection_transactional_after_a_page_and_after_a_failure(engine, services):
    """On PostgreSQL the page's statement runs in autocommit, set on the driver's connection
    for that statement only: whoever uses the connection next, in the same request or after
    it went back to the pool, is in a transaction again (a rollback undoes its write), even
    when the statement failed."""
    from exchange.models import Agency

    w = world(engine)
    commune = w.all_communes[0]
    _send(services, w, [commune], "k")
    agency = caller_for(w, commune).agency_id
    postgresql = engine.dialect.name == "postgresql"
    with services.engine.connect() as conn:
        assert len(inbox._read_rows(conn, {"agency": agency, "after": 0, "limit": 50})) == 1
        if postgresql:
            assert conn.connection.driver_connection.autocommit is False
            with pytest.raises(Exception, match="LIMIT must not be negative"):  # (SQLite reads all rows)
                inbox._read_rows(conn, {"agency": agency, "after": 0, "limit": -1})
            assert conn.connection.driver_connection.autocommit is False
        conn.execute(sa.update(Agency).where(Agency.id == agency).values(name="rolled back"))
        conn.rollback()
        assert conn.execute(sa.select(Agency.name).where(Agency.id == agency)).scalar() != "rolled back"
