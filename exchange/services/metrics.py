"""``GET /metrics``: the Prometheus exposition, with the gauges read from the database.

The outbox (``outbox_event``, written in each change's transaction by
``exchange.adapters.audit_log``) has no "published" mark yet: nothing consumes it so far. So
its lag is the age of its newest row (how long since the last audited change); once a
publisher marks rows, this should become the age of the oldest unpublished one.
"""
from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING, Iterable

import sqlalchemy as sa
from sqlmodel import col

from exchange.adapters import metrics
from exchange.models import OutboxEvent, utcnow
from storage.db import UnitOfWork

if TYPE_CHECKING:
    from bootstrap import Services

OUTBOX_AGE = "lienthong_outbox_newest_event_age_seconds"


def exposition(svc: "Services") -> bytes:
    return metrics.exposition(lambda: _database_gauges(svc))


def _database_gauges(svc: "Services") -> Iterable[tuple[str, str, float | None]]:
    with UnitOfWork(svc.engine) as uow:
        newest = uow.session.execute(sa.select(sa.func.max(col(OutboxEvent.created_at)))).scalar_one_or_none()
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=timezone.utc)  # stored as UTC
    age = None if newest is None else max(0.0, (utcnow() - newest).total_seconds())
    yield (OUTBOX_AGE, "Seconds since the newest outbox event (the outbox has no published mark yet); "
                       "absent while the outbox is empty", age)
