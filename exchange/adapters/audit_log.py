"""The audit chain and its outbox: every change appends one event, hash-linked to the one
before, and one outbox row in the same transaction.

``hash = SHA-256(prev_hash || canonical JSON of the event)``. Appending locks the single
``AuditHead`` row, so the chain stays linear with many writers in many processes; the event
and its outbox row are written in the caller's transaction, so a change, its audit event and
the news of it commit together or not at all.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from sqlmodel import Session, col, select

from exchange.adapters import agency_events
from exchange.models import Agency, AuditEvent, AuditHead, OutboxEvent, utcnow

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_time(at: datetime) -> str:
    """The chain's own fixed time form (microseconds): part of every event's hash, so it never
    changes, whatever format the API shows."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, agency_code: str,
               action: str, object: str, details: dict) -> str:
    body = canonical_json({
        "seq": seq, "at": hash_time(at), "actor": actor, "agency_code": agency_code,
        "action": action, "object": object, "details": details,
    })
    return hashlib.sha256(prev_hash.encode("ascii") + body.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> AuditHead:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # two first-ever appenders may race to create the row: let the database decide
        session.execute(sa.text(
            "INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :h) ON CONFLICT (id) DO NOTHING"
        ), {"h": GENESIS_HASH})
        stmt = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    else:  # SQLite: a writing unit of work already holds the database's write lock
        stmt = select(AuditHead).where(AuditHead.id == 1)
    head = session.exec(stmt).one_or_none()
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def record(session: Session, *, actor: str, agency_code: str, action: str, object: str,
           details: dict[str, Any] | None = None, agency_ids: Iterable[int] = ()) -> AuditEvent:
    """Append one event, and its outbox row, in the caller's transaction (they commit with the
    change they record). ``agency_ids``: the agencies the change concerns (the acting agency's
    id when none is given)."""
    details = dict(details or {})
    concerned = sorted(set(agency_ids))
    if not concerned and agency_code:
        found = session.execute(sa.select(col(Agency.id)).where(col(Agency.code) == agency_code)).scalar()
        concerned = [found] if found is not None else []
    head = _lock_head(session)
    seq = head.last_seq + 1
    at = utcnow()
    digest = event_hash(head.last_hash, seq=seq, at=at, actor=actor, agency_code=agency_code,
                        action=action, object=object, details=details)
    event = AuditEvent(seq=seq, at=at, actor=actor, agency_code=agency_code, action=action,
                       object=object, details=canonical_json(details), prev_hash=head.last_hash,
                       hash=digest)
    session.add(event)
    head.last_seq, head.last_hash = seq, digest
    session.add(head)
    outbox_id = str(uuid.uuid4())
    session.add(OutboxEvent(id=outbox_id, kind=action, agency_ids=json.dumps(concerned),
                            payload=canonical_json({"object": object, "actor": actor, "agency_code": agency_code,
                                                    "details": details}),
                            audit_seq=seq, created_at=at))
    session.flush()
    # the per-agency events feed, in the same transaction and still under the head's lock
    agency_events.feed(session, action=action, object=object, agency_code=agency_code, details=details,
                       concerned=concerned, outbox_id=outbox_id, at=at)
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    first_broken: int | None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_broken": self.first_broken}


def _events(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) > after).order_by(col(AuditEvent.seq)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        assert last is not None  # read from the table
        after = last
        session.expunge_all()


def verify_chain(session: Session) -> ChainCheck:
    """Walk the chain from the start; the first event whose link, position or content does
    not match is reported (a deleted event breaks the one after it; a deleted tail is
    caught against the head row)."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in _events(session):
        try:
            details = json.loads(event.details)
        except ValueError:
            details = None
        if (
            event.seq != expected_seq
            or event.prev_hash != prev_hash
            or not isinstance(details, dict)
            or event.hash != event_hash(prev_hash, seq=event.seq, at=event.at, actor=event.actor,
                                        agency_code=event.agency_code, action=event.action,
                                        object=event.object, details=details)
        ):
            return ChainCheck(False, checked, expected_seq)
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != prev_hash):
        return ChainCheck(False, checked, checked + 1)
    return ChainCheck(True, checked, None)
