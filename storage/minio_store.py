"""MinIO / S3 blob store (to be completed)."""
from __future__ import annotations


class MinioBlobStore:
    @classmethod
    def from_settings(cls, s3):  # type: ignore[no-untyped-def]
        raise NotImplementedError("MinioBlobStore is being written")
