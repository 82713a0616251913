"""The one place that picks a blob store backend from the settings."""
from __future__ import annotations

from settings import Settings
from storage.blobs import BlobStore


def create_blob_store(settings: Settings) -> BlobStore:
    if settings.s3 is not None:
        from storage.minio_store import MinioBlobStore

        return MinioBlobStore.from_settings(settings.s3, spool_dir=settings.data_dir / "spool")
    from storage.filesystem import FilesystemBlobStore

    return FilesystemBlobStore(settings.blob_dir)
