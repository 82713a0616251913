"""The events feed: each kind on the right side with the right data, isolation, the cursor,
gapless under concurrent dispatches (processes racing), long-poll wake-ups, free empty polls."""
from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from errors import Unprocessable
from exchange.domain.caller import Caller
from exchange.domain.enums import CallerKind
from exchange.models import Document
from exchange.services import delivery as deliveries
from exchange.services import events, inbox
from exchange.services.dispatch import Recipients, dispatch_document, forward_delivery
from tests.db import build_services, session_scope
from tests.exchange_fixtures import caller_for
from tests.integration.exchange.delivery_support import add_agency, sealed_document, world
from tests.integration.exchange.services.test_inbox import BAD_PAGE_ARGS, QueryCounter

CTX = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections


def _send(services, w, codes, key, doc=None):  # type: ignore[no-untyped-def]
    doc = doc or sealed_document(services.engine, w)
    view, _ = dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=tuple(codes)), key)
    return doc, {d["recipient"]: d["id"] for d in view["deliveries"]}


def _all(services, who):  # type: ignore[no-untyped-def]
    return events.poll(services, who, limit=200)["items"]


def _kinds(items):  # type: ignore[no-untyped-def]
    return [(i["kind"], i.get("delivery_id")) for i in items]


def test_a_recipient_sees_the_delivery_and_its_sender_each_ack_and_status_with_reason(engine, services):
    w = world(engine)
    a, b = w.all_communes[:2]
    doc, ids = _send(services, w, [a, b], "k")
    deliveries.acknowledge(services, caller_for(w, a), ids[a])
    deliveries.acknowledge(services, caller_for(w, b), ids[b])
    deliveries.change_status(services, caller_for(w, b), ids[b], "returned", "Gửi nhầm nơi nhận")
    created = _all(services, caller_for(w, a))
    assert _kinds(created) == [("delivery.created", ids[a])]
    assert created[0]["document_id"] == doc and created[0]["seq"] == 1
    assert created[0]["data"]["inbox_seq"] == 1 and created[0]["at"].endswith("Z")
    sent = _all(services, caller_for(w, "clerk"))
    assert _kinds(sent) == [("delivery.acked", ids[a]), ("delivery.acked", ids[b]), ("delivery.status", ids[b])]
    assert [e["seq"] for e in sent] == [1, 2, 3]
    assert sent[0]["data"] == {"recipient": a} and sent[0]["document_id"] == doc
    assert sent[2]["data"] == {"recipient": b, "status": "returned", "code": "02", "reason": "Gửi nhầm nơi nhận"}


def test_recall_requested_with_its_reason_and_decided_on_both_sides(engine, services):
    w = world(engine)
    a, b = w.all_communes[:2]
    doc, ids = _send(services, w, [a, b], "k")
    deliveries.acknowledge(services, caller_for(w, a), ids[a])
    deliveries.request_recall(services, caller_for(w, "clerk"), doc, "Sai trích yếu")
    deliveries.decide_recall(services, caller_for(w, a), ids[a], False, "Đã xử lý xong")
    for_a = _all(services, caller_for(w, a))
    assert _kinds(for_a) == [("delivery.created", ids[a]), ("recall.requested", ids[a])]
    assert for_a[1]["data"] == {"reason": "Sai trích yếu"}
    # b had not acknowledged: taken back at once, which decides its recall without it
    for_b = _all(services, caller_for(w, b))
    assert _kinds(for_b) == [("delivery.created", ids[b]), ("recall.requested", ids[b]),
                             ("recall.decided", ids[b])]
    assert [e["seq"] for e in for_b] == [1, 2, 3]  # two events of one change: two seqs, no gap
    assert for_b[2]["data"]["accept"] is True and for_b[2]["data"]["code"] == "15"
    sent = _all(services, caller_for(w, "clerk"))
    assert _kinds(sent) == [("delivery.acked", ids[a]), ("recall.decided", ids[a])]
    assert sent[1]["data"] == {"recipient": a, "accept": False, "code": "16", "reason": "Đã xử lý xong"}


def test_every_sender_up_the_chain_hears_of_each_forward_and_the_new_recipients_of_their_copies(engine,
                                                                                                  services):
    w = world(engine)
    district = w.districts[0]
    commune = w.communes[district][0]
    with session_scope(engine, write=True) as session:
        hamlet = add_agency(session, "000.99.01.H62", commune, level="other").id
    doc, ids = _send(services, w, [district], "k")
    view, _ = forward_delivery(services, caller_for(w, "district_clerk"), ids[district],
                               Recipients(children_of=district, level="commune"), "fwd")
    sent = _all(services, caller_for(w, "clerk"))
    assert _kinds(sent) == [("forwarded", ids[district])]
    assert sent[0]["data"] == {"by": district, "dispatch_id": view["id"], "to": sorted(w.communes[district])}
    assert sent[0]["document_id"] == doc
    for copy in view["deliveries"]:
        got = _all(services, caller_for(w, copy["recipient"]))
        assert _kinds(got) == [("delivery.created", copy["id"])]
        assert got[0]["data"]["dispatch_id"] == view["id"]
    # a second hop: the district hears of it on its copy to the commune, the province on its own
    to_commune = {d["recipient"]: d["id"] for d in view["deliveries"]}[commune]
    again, _ = forward_delivery(services, caller_for(w, commune), to_commune, Recipients(to=("000.99.01.H62",)),
                                "fwd2")
    hop = {"by": commune, "dispatch_id": again["id"], "to": ["000.99.01.H62"]}
    province = _all(services, caller_for(w, "clerk"))
    assert _kinds(province) == [("forwarded", ids[district]), ("forwarded", ids[district])]
    assert province[1]["data"] == hop
    by_district = _all(services, caller_for(w, district))
    assert _kinds(by_district)[-1] == ("forwarded", to_commune) and by_district[-1]["data"] == hop
    its_system = Caller(CallerKind.AGENCY, hamlet, "000.99.01.H62", None, None, frozenset(), None)
    assert _kinds(_all(services, its_system)) == [
        ("delivery.created", again["deliveries"][0]["id"])]


def test_recipients_of_a_replaced_document_hear_of_its_replacement_once(engine, services):
    w = world(engine)
    a, b = w.all_communes[:2]
    old, ids = _send(services, w, [a], "k")
    new = sealed_document(services.engine, w, content=b"%PDF-1.7 replacement")
    with session_scope(engine, write=True) as session:
        replacement = session.get(Document, new)
        replacement.replaces_id = old
        session.add(replacement)
    _send(services, w, [a], "k2", doc=new)
    _send(services, w, [b], "k3", doc=new)  # a later dispatch of the replacement tells nobody again
    got = _all(services, caller_for(w, a))
    # the new copy first, then the news that it replaces the old one
    assert [e["kind"] for e in got] == ["delivery.created", "delivery.created", "document.replaced"]
    assert got[1]["document_id"] == new
    assert got[2]["delivery_id"] == ids[a] and got[2]["document_id"] == old
    assert got[2]["data"] == {"replaced_by": new}
    assert [e["kind"] for e in _all(services, caller_for(w, b))] == ["delivery.created"]


def test_events_roll_back_with_their_change_and_give_their_seq_back(engine, services):
    w = world(engine)
    a = w.all_communes[0]
    _, ids = _send(services, w, [a], "k")
    with services.uow(write=True) as uow:
        deliveries._acknowledge(uow.session, services, caller_for(w, a), ids[a])
        uow.rollback()  # the change fails after its events were written
    assert _all(services, caller_for(w, "clerk")) == []
    deliveries.acknowledge(services, caller_for(w, a), ids[a])
    assert [(e["kind"], e["seq"]) for e in _all(services, caller_for(w, "clerk"))] == [("delivery.acked", 1)]


def test_another_agencys_caller_sees_none_of_them(engine, services):
    w = world(engine)
    a = w.all_communes[0]
    doc, ids = _send(services, w, [a], "k")
    deliveries.acknowledge(services, caller_for(w, a), ids[a])
    assert _all(services, caller_for(w, a)) and _all(services, caller_for(w, "clerk"))
    for stranger in ("other_clerk", w.other_province, w.all_communes[1], w.districts[1]):
        assert _all(services, caller_for(w, stranger)) == []


def test_the_cursor_pages_oldest_first_and_an_empty_page_keeps_it(engine, services):
    w = world(engine)
    a = w.all_communes[0]
    for i in range(3):
        _send(services, w, [a], f"k{i}")
    me = caller_for(w, a)
    page = events.poll(services, me, limit=2)
    assert [e["seq"] for e in page["items"]] == [1, 2] and page["next_cursor"] == "2"
    rest = events.poll(services, me, after=page["next_cursor"])
    assert [e["seq"] for e in rest["items"]] == [3]
    assert events.poll(services, me, after="3") == {"items": [], "next_cursor": "3"}


@pytest.mark.parametrize("args, field", BAD_PAGE_ARGS)
def test_bad_query_values_are_422(engine, services, args, field):
    w = world(engine)
    with pytest.raises(Unprocessable) as info:
        events.poll(services, caller_for(w, w.all_communes[0]), **args)
    assert field in info.value.fields


def test_inbox_items_carry_the_status_history_with_reasons_in_one_query_per_page(engine, services):
    w = world(engine)
    a = w.all_communes[0]
    ids = [_send(services, w, [a], f"k{i}")[1][a] for i in range(3)]
    me = caller_for(w, a)
    deliveries.acknowledge(services, me, ids[0])
    deliveries.change_status(services, me, ids[0], "returned", "Sai thể thức")
    deliveries.acknowledge(services, me, ids[1])
    inbox.poll(services, me, limit=50)  # the dispatch parts are cached from now on
    counter = QueryCounter(services.engine)
    items = inbox.poll(services, me, limit=50)["items"]
    assert counter.count <= 2  # the rows, and the histories of the whole page
    history = {i["delivery_id"]: i["history"] for i in items}
    assert [(s["status"], s["code"]) for s in history[ids[0]]] == [("delivered", "01"), ("returned", "02")]
    assert history[ids[0]][1]["reason"] == "Sai thể thức" and "reason" not in history[ids[0]][0]
    assert history[ids[0]][0]["at"].endswith("Z")
    assert [s["status"] for s in history[ids[1]]] == ["delivered"]
    assert history[ids[2]] == []


def test_an_empty_poll_costs_no_query_once_the_mark_is_known_and_news_lifts_it(engine, services):
    w = world(engine)
    a = w.all_communes[0]
    me = caller_for(w, a)
    _send(services, w, [a], "k0")
    events.poll(services, me)  # starts the watcher / listener
    deadline = time.monotonic() + 10
    while not services.event_notifier.listening and time.monotonic() < deadline:
        time.sleep(0.05)
    assert services.event_notifier.listening
    events.poll(services, me, after="1")  # learns the mark
    counter = QueryCounter(services.engine)
    for _ in range(20):
        assert events.poll(services, me, after="1")["items"] == []
    assert counter.count == 0
    _send(services, w, [a], "k1")
    assert [e["seq"] for e in events.poll(services, me, after="1")["items"]] == [2]


def test_a_long_poll_wakes_within_a_second_of_an_event_committed_in_this_process(engine, services):
    w = world(engine)
    a = w.all_communes[0]
    doc = sealed_document(services.engine, w)
    me = caller_for(w, a)
    events.poll(services, me)
    committed: list[float] = []

    def dispatch_late() -> None:
        dispatch_document(services, caller_for(w, "clerk"), doc, Recipients(to=(a,)), "late")
        committed.append(time.monotonic())

    timer = threading.Timer(0.5, dispatch_late)
    timer.start()
    page = events.poll(services, me, wait=30)
    woke = time.monotonic()
    timer.join()
    assert [e["kind"] for e in page["items"]] == ["delivery.created"]
    assert woke - committed[0] < 1.0


def _dispatch_elsewhere(url: str, data_dir: str, caller, doc: int, commune: str, out) -> None:  # type: ignore[no-untyped-def]
    time.sleep(1.0)
    other = build_services(url, Path(data_dir))
    dispatch_document(other, caller, doc, Recipients(to=(commune,)), "from-another-process")
    out.put(time.time())
    other.close()


def test_a_long_poll_wakes_within_a_second_on_an_event_committed_by_another_process(engine, services,
                                                                                    database_url, tmp_path):
    w = world(engine)
    a = w.all_communes[0]
    doc = sealed_document(services.engine, w)
    me = caller_for(w, a)
    events.poll(services, me)  # the listener/watcher starts before the other process writes
    deadline = time.monotonic() + 10
    while not services.event_notifier.listening and time.monotonic() < deadline:
        time.sleep(0.05)
    out = CTX.Queue()
    proc = CTX.Process(target=_dispatch_elsewhere,
                       args=(database_url, str(tmp_path / "other"), caller_for(w, "clerk"), doc, a, out))
    proc.start()
    page = events.poll(services, me, wait=40)
    woke = time.time()
    committed = out.get(timeout=30)
    proc.join(30)
    assert proc.exitcode == 0
    assert [e["document_id"] for e in page["items"]] == [doc]
    assert woke - committed < 1.0  # woken by NOTIFY / data_version, not by the timeout


def _dispatch_many(url: str, data_dir: str, clerk, docs: list[int], communes: tuple[str, ...], prefix: str,
                   start) -> None:  # type: ignore[no-untyped-def]
    services = build_services(url, Path(data_dir))
    start.wait()
    for i, doc in enumerate(docs):
        dispatch_document(services, clerk, doc, Recipients(to=communes), f"{prefix}-{i}")
    services.close()


def _ack_many(url: str, data_dir: str, caller, delivery_ids: list[int], start) -> None:  # type: ignore[no-untyped-def]
    services = build_services(url, Path(data_dir))
    start.wait()
    for delivery_id in delivery_ids:
        deliveries.acknowledge(services, caller, delivery_id)
    services.close()


def test_a_reader_never_skips_a_seq_while_processes_race_to_dispatch_and_ack(engine, services, database_url,
                                                                             tmp_path):
    w = world(engine)
    a, b = w.all_communes[:2]
    writers, per_writer = 3, 15
    # b's copies are acknowledged by a racing process: events for the province arrive meanwhile
    acked = [_send(services, w, [b], f"pre{i}")[1][b] for i in range(per_writer)]
    docs = [[sealed_document(engine, w) for _ in range(per_writer)] for _ in range(writers)]
    start = CTX.Event()
    procs = [CTX.Process(target=_dispatch_many, args=(database_url, str(tmp_path / f"w{n}"), caller_for(w, "clerk"),
                                                      docs[n], (a, b), f"w{n}", start)) for n in range(writers)]
    procs.append(CTX.Process(target=_ack_many, args=(database_url, str(tmp_path / "acker"), caller_for(w, b),
                                                     acked, start)))
    for p in procs:
        p.start()
    start.set()
    readers = {a: caller_for(w, a), b: caller_for(w, b), w.province: caller_for(w, "clerk")}
    expected = {a: writers * per_writer, b: (writers + 1) * per_writer, w.province: per_writer}
    seen: dict[str, list[int]] = {code: [] for code in readers}
    cursors = {code: "" for code in readers}
    deadline = time.monotonic() + 120
    while any(len(seen[c]) < expected[c] for c in readers) and time.monotonic() < deadline:
        for code, me in readers.items():
            page = events.poll(services, me, after=cursors[code], limit=7, wait=0.2)
            seen[code] += [e["seq"] for e in page["items"]]
            cursors[code] = page["next_cursor"]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    for code, me in readers.items():
        seen[code] += [e["seq"] for e in events.poll(services, me, after=cursors[code], limit=200)["items"]]
        assert seen[code] == list(range(1, expected[code] + 1)), code
