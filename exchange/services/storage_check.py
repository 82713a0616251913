"""Re-read every blob the database references and say which are missing or corrupted (by
SHA-256): what an operator runs after a restore, a disk error or a doubt about the bucket."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import col

from exchange.models import Revision
from exchange.services.storage_gc import all_references
from storage.blobs import BlobCorrupted, BlobNotFound, BlobStoreMissing

if TYPE_CHECKING:
    from bootstrap import Services

READ_CHUNK = 1024 * 1024


@dataclass
class StorageCheck:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupted


def referenced_blobs(svc: "Services") -> list[str]:
    """Every SHA-256 any row points at (the list `storage gc` keeps), once each, in order."""
    return sorted(all_references(svc.engine))


def newest_blob_present(svc: "Services") -> str:
    """For ``/readyz``: "missing" when the store lacks the newest file the database refers
    to — a bucket or folder emptied, or replaced by an empty one — else "ok". One query and
    one lookup: the full re-read is ``flask storage check``."""
    with svc.engine.connect() as conn:
        newest = conn.execute(sa.select(col(Revision.blob_sha256)).order_by(col(Revision.id).desc())
                              .limit(1)).scalar()
    if newest is None or svc.blobs.exists(newest):
        return "ok"
    return "missing"


def check_blobs(svc: "Services") -> StorageCheck:
    """Read each referenced blob to its end through the store's hash-checking reader. A store
    that does not answer raises (BlobStoreUnavailable): the check did not happen."""
    result = StorageCheck()
    for sha256 in referenced_blobs(svc):
        result.checked += 1
        try:
            with svc.blobs.open(sha256) as reader:
                while reader.read(READ_CHUNK):
                    pass
        except (BlobNotFound, BlobStoreMissing):  # a store that is gone holds none of them
            result.missing.append(sha256)
        except BlobCorrupted:
            result.corrupted.append(sha256)
    return result
