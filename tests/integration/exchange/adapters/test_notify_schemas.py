"""PostgreSQL delivers a NOTIFY to every session of the database, whatever its schema: the
inbox's and the events feed's channels are scoped to the schema, so that another deployment (or test) in
another schema of the same database never lifts this one's marks (which made every empty
events poll query the database), while this schema's own news still does."""
from __future__ import annotations

import time

import pytest
from sqlmodel import Session

from exchange.adapters.notify import CHANNEL, EVENTS_CHANNEL, notify_at_commit
from storage.db import make_engine
from tests.conftest import TEST_DATABASE_URL, empty_database

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's NOTIFY: LIENTHONG_TEST_DATABASE_URL")


def _wait(predicate, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(predicate())


def _notify(url: str, channel: str, pairs: list[tuple[int, int]]) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            notify_at_commit(session, channel, pairs)
            session.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize("channel", [CHANNEL, EVENTS_CHANNEL])
def test_another_schemas_news_leave_the_marks_and_this_schemas_lift_them(services, tmp_path, channel):
    notifier = services.notifier if channel == CHANNEL else services.event_notifier
    notifier.ensure_running()
    assert _wait(lambda: notifier.listening)
    notifier.record_exhausted(7, 3, notifier.snapshot(7))
    assert notifier.nothing_after(7, 3)

    with empty_database(tmp_path, "elsewhere") as other_schema:
        _notify(other_schema, channel, [(7, 99)])
    _notify(TEST_DATABASE_URL, channel, [(7, 98)])  # the database's default schema
    time.sleep(1.5)  # the listener reads notifications at least every second
    assert notifier.nothing_after(7, 3), "another schema's event lifted the mark"

    _notify(services.settings.database_url, channel, [(7, 4)])
    assert _wait(lambda: not notifier.nothing_after(7, 3)), "this schema's own event did not lift the mark"
    assert notifier.nothing_after(7, 4)
