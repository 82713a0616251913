"""gunicorn entry points for the fault tests: the real app with one pause point, so that a
test can SIGKILL the worker at a known moment of a request (a real signal to a real process;
only the moment is chosen).

``LIENTHONG_TEST_PAUSE_AT`` names the moment, ``LIENTHONG_TEST_PAUSE_FILE`` the file the
worker writes (its pid, what it has done so far) before it stops there for good. The pause
happens once: a worker started after the file exists (gunicorn's replacement for the killed
one) serves normally.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

PAUSE_AT = "LIENTHONG_TEST_PAUSE_AT"
PAUSE_FILE = "LIENTHONG_TEST_PAUSE_FILE"
# dispatch_before_commit: the dispatch's deliveries, counters, audit event and outbox row are
#   written in its open transaction, not committed;
# dispatch_after_commit: the dispatch committed, its answer not yet sent.
POINTS = ("dispatch_before_commit", "dispatch_after_commit")


def _pause_here(**done: Any) -> None:
    flag = Path(os.environ[PAUSE_FILE])
    flag.with_suffix(".tmp").write_text(json.dumps({"pid": os.getpid(), **done}))
    flag.with_suffix(".tmp").rename(flag)
    while True:
        time.sleep(60)


def _first_time() -> bool:
    return not Path(os.environ[PAUSE_FILE]).exists()


def _install(point: str) -> None:
    from exchange.models import Delivery
    from exchange.services import audit, dispatch

    if point == "dispatch_before_commit":
        record = audit.record

        def paused_record(session: Any, caller: Any, action: str, obj: str, details: Any, **kw: Any) -> Any:
            event = record(session, caller, action, obj, details, **kw)
            if action == "document.dispatch" and _first_time():
                session.flush()
                written = session.execute(sa.select(sa.func.count()).select_from(Delivery)
                                          .where(Delivery.dispatch_id == details["dispatch_id"])).scalar_one()
                _pause_here(uncommitted_deliveries=written)
            return event

        audit.record = paused_record  # type: ignore[assignment]
    elif point == "dispatch_after_commit":
        original = dispatch.dispatch_document

        def paused_dispatch(*args: Any, **kw: Any) -> Any:
            result = original(*args, **kw)
            if _first_time():
                _pause_here(committed_deliveries=len(result[0]["deliveries"]))
            return result

        dispatch.dispatch_document = paused_dispatch  # type: ignore[assignment]
    else:
        raise ValueError(f"{PAUSE_AT}={point!r}: not one of {POINTS}")


def paused_app() -> Any:
    from app import create_app

    _install(os.environ[PAUSE_AT])
    return create_app()
