"""What the blob store holds beyond what the database refers to: ``flask storage gc`` removes
it, and the rule that decides whether a missing store may be created.

Why a grace period is enough to spare uploads in flight: every write puts the blob *before*
the transaction that refers to it commits, and a put — a new blob or bytes already stored —
leaves the blob's modification time at "now" (``storage.blobs.BlobStore.put``). The collector
lists the store first and reads the references second, so a blob whose reference commits in
between is either listed as young (spared) or found referenced."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from exchange.models import Attachment, RegisterEntry, Revision, SigningSession
from storage.blobs import BlobStore, BlobStoreUnavailable
from storage.db import is_missing_table

if TYPE_CHECKING:
    from bootstrap import Services


@dataclass
class GarbageCollection:
    removed: list[str] = field(default_factory=list)
    retained: list[str] = field(default_factory=list)  # unreferenced, but the store's retention keeps them
    spared_young: int = 0  # unreferenced, younger than the grace period: perhaps an upload in flight
    referenced: int = 0
    freed_bytes: int = 0


def referenced_blobs(conn: sa.Connection) -> dict[str, int | None]:
    """Every SHA-256 any row points at, with the size where the row keeps one: revisions,
    attachments and their sealed copies and detached signatures (sized), paper documents' scans
    and remote-signing sessions' prepared PDFs (not: the store says)."""
    sized: Sequence[Any] = conn.execute(sa.union(
        sa.select(col(Revision.blob_sha256), col(Revision.size)),
        sa.select(col(Attachment.blob_sha256), col(Attachment.size)),
        sa.select(col(Attachment.sealed_sha256), col(Attachment.sealed_size)).where(
            col(Attachment.sealed_sha256).is_not(None)),
        sa.select(col(Attachment.signature_sha256), col(Attachment.signature_size)).where(
            col(Attachment.signature_sha256).is_not(None)))).all()
    found: dict[str, int | None] = {sha256: int(size) for sha256, size in sized if sha256}
    for sha256 in conn.execute(sa.select(col(RegisterEntry.scan_sha256)).distinct()).scalars():
        if sha256:
            found.setdefault(sha256, None)
    for state in conn.execute(sa.select(col(SigningSession.state))).scalars():
        prepared = (json.loads(state).get("prepared_pdf") or {}) if state else {}
        if prepared.get("sha256"):
            found.setdefault(prepared["sha256"], None)
    return found


def all_references(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(referenced_blobs(conn))


def collect_garbage(svc: "Services", *, grace: timedelta, now: datetime | None = None) -> GarbageCollection:
    """Remove the blobs no row refers to that were last put more than ``grace`` ago."""
    cutoff = (now or datetime.now(timezone.utc)) - grace
    stored = list(svc.blobs.list_blobs())  # before the references: see the module's docstring
    referenced = all_references(svc.engine)
    result = GarbageCollection()
    for blob in stored:
        if blob.sha256 in referenced:
            result.referenced += 1
        elif blob.modified_at > cutoff:
            result.spared_young += 1
        elif svc.blobs.delete(blob.sha256):
            result.removed.append(blob.sha256)
            result.freed_bytes += blob.size
        else:
            result.retained.append(blob.sha256)
    return result


def store_may_be_created(engine: Engine, store: BlobStore) -> bool:
    """A missing (or empty, markerless) store may be created only when that hides no loss:
    the database refers to no blob yet (a new installation, a schema not yet migrated), or
    it does and the newest one is there (a store of an older version, before the marker)."""
    try:
        with engine.connect() as conn:
            newest = conn.execute(sa.select(col(Revision.blob_sha256)).order_by(col(Revision.id).desc())
                                  .limit(1)).scalar()
    except sa.exc.DBAPIError as exc:
        if is_missing_table(exc):
            return True
        raise
    return newest is None or _present(store, newest)


def _present(store: BlobStore, sha256: str) -> bool:
    try:
        return store.exists(sha256)
    except BlobStoreUnavailable:
        return False


def initialize_store(svc: "Services") -> bool:
    """``flask storage init``: create the store on purpose. True when the database refers to
    a newest blob the store lacks (the operator restores it; `storage check` names the rest)."""
    svc.blobs.initialize()
    return not store_may_be_created(svc.engine, svc.blobs)
