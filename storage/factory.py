"""The one place that picks a blob store backend from the settings."""
from __future__ import annotations

from typing import Callable

from settings import Settings
from storage.blobs import BlobStore


def create_blob_store(settings: Settings, *, may_create: Callable[[], bool] | None = None) -> BlobStore:
    """``may_create``: whether a missing folder or bucket may be created now (the service
    passes "the database refers to no blob"); None creates it on first use."""
    if settings.s3 is not None:
        from storage.minio_store import MinioBlobStore

        store = MinioBlobStore.from_settings(settings.s3, spool_dir=settings.data_dir / "spool")
        store.may_create = may_create
        return store
    from storage.filesystem import FilesystemBlobStore

    return FilesystemBlobStore(settings.blob_dir, may_create=may_create)
