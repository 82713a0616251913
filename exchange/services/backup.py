"""Backup and restore: a consistent copy of the database and of the blobs it refers to, and
its restore onto an empty database and data folder, checked end to end.

Why the copy is consistent while the service keeps writing: the database is copied at one
instant (SQLite's online backup, or ``pg_dump`` on an exported snapshot), and the list of
blobs to copy is read from that same instant. Blobs are content-addressed, written before
the row that refers to them is committed and never deleted, so every blob the snapshot
refers to is in the store when it is copied afterwards.

A backup folder holds ``manifest.json``, ``database.sqlite3`` or ``database.pgdump``, and
``blobs/sha256/ab/cd/<hex>`` (always for the filesystem store; for object storage only with
``copy_blobs``: otherwise the manifest lists every referenced blob and the bucket itself,
versioned or replicated, is their copy). It is written in a hidden temporary folder beside
the target and renamed at the end: a failed backup leaves no half folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col

from errors import Conflict, Unprocessable
from exchange.models import AuditHead
from exchange.services.audit import verify_chain
from exchange.services.storage_check import check_blobs
from exchange.services.storage_gc import referenced_blobs
from storage.blobs import CHUNK, BlobCorrupted, BlobError, BlobNotFound, HashCheckingReader, blob_key
from storage.db import utcnow
from storage.schema import import_all_models
from storage.snapshot import (SnapshotError, copy_sqlite, current_schema, database_is_empty, dump_postgres,
                              is_sqlite, open_sqlite_readonly, postgres_snapshot, restore_postgres, sqlite_file)
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_ARCHIVE = "database.pgdump"
BLOB_DIR = "blobs"
PRIVATE_DIR = 0o700
UNVERSIONED_BUCKET_NOTE = (
    "The blobs were not copied: they stay in the S3 bucket, listed here by SHA-256 and size. The bucket "
    "must be versioned (or replicated to another site) for this backup to be restorable; "
    "use --copy-blobs to copy them into the backup folder.")
ROOT = Path(__file__).resolve().parents[2]


class BackupFailed(Unprocessable):
    """The backup or the restore could not be done; nothing was left half-made."""


@dataclass
class RestoreCheck:
    """What the restore found when it re-read what it restored."""
    blobs_checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupted: list[str] = field(default_factory=list)
    chain_ok: bool = False
    chain_checked: int = 0
    counts_differ: dict[str, tuple[int, int]] = field(default_factory=dict)  # table → (manifest, restored)

    @property
    def ok(self) -> bool:
        return self.chain_ok and not self.missing and not self.corrupted and not self.counts_differ


# --- what a snapshot holds -----------------------------------------------------------------

def _facts(conn: sa.Connection) -> dict[str, Any]:
    """Schema revision, row counts, the audit chain head and every referenced blob, read on
    the snapshot's own connection."""
    revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    counts = {table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
              for table in import_all_models().sorted_tables}
    head = conn.execute(sa.select(col(AuditHead.last_seq), col(AuditHead.last_hash))).first()
    sizes = referenced_blobs(conn)
    return {
        "schema_revision": revision,
        "counts": counts,
        "audit_chain_head": {"seq": head[0] if head else 0, "hash": head[1] if head else None},
        "blobs": [{"sha256": sha, "size": sizes[sha]} for sha in sorted(sizes)],
    }


def _tool_version() -> str:
    """The code's commit when run from a git checkout (how lienthong is deployed), else unknown."""
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- backup ------------------------------------------------------------------------------

def create_backup(svc: "Services", target: Path, *, copy_blobs: bool = False) -> dict[str, Any]:
    """Write the backup folder ``target`` (which must not exist); its manifest. With the
    filesystem store the blobs are always copied; with object storage only if ``copy_blobs``."""
    target = Path(target).absolute()
    if target.exists():
        raise Conflict(_l("%(path)s already exists: a backup goes into a new folder", path=str(target)))
    if not target.parent.is_dir():
        raise Unprocessable(_l("the folder %(path)s does not exist", path=str(target.parent)))
    copy_blobs = copy_blobs or svc.settings.s3 is None
    partial = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    partial.mkdir(mode=PRIVATE_DIR)
    os.chmod(partial, PRIVATE_DIR)  # mkdir's mode is filtered by the umask: the agencies' documents go in
    try:
        manifest = _write_backup(svc, partial, copy_blobs=copy_blobs)
        os.rename(partial, target)
        _fsync(target.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _write_backup(svc: "Services", folder: Path, *, copy_blobs: bool) -> dict[str, Any]:
    engine = svc.engine
    try:
        if is_sqlite(engine):
            database = {"kind": "sqlite", "file": SQLITE_FILE, "schema": None}
            copy_sqlite(sqlite_file(engine), folder / SQLITE_FILE)
            snapshot = open_sqlite_readonly(folder / SQLITE_FILE)
            try:
                with snapshot.connect() as conn:
                    facts = _facts(conn)
            finally:
                snapshot.dispose()
        else:
            with postgres_snapshot(engine) as (conn, snapshot_id):
                schema = current_schema(conn)
                if schema is None:
                    raise SnapshotError("the database's search_path names no existing schema")
                database = {"kind": "postgresql", "file": PG_ARCHIVE, "schema": schema}
                facts = _facts(conn)
                dump_postgres(engine, conn, snapshot_id, schema, folder / PG_ARCHIVE)
    except SnapshotError as exc:
        raise BackupFailed(_l("the database could not be copied: %(reason)s", reason=str(exc))) from None
    database["sha256"] = _sha256_file(folder / str(database["file"]))
    for blob in facts["blobs"]:
        if blob["size"] is None:
            try:
                blob["size"] = svc.blobs.stat(blob["sha256"]).size
            except BlobNotFound:
                raise BackupFailed(_l("stored file %(sha256)s is missing from the store",
                                      sha256=blob["sha256"])) from None
    if copy_blobs:
        _copy_blobs_out(svc, facts["blobs"], folder / BLOB_DIR)
    manifest: dict[str, Any] = {
        "format": BACKUP_FORMAT,
        "tool": "lienthong",
        "tool_version": _tool_version(),
        "created_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": database,
        "schema_revision": facts["schema_revision"],
        "counts": facts["counts"],
        "audit_chain_head": facts["audit_chain_head"],
        "blob_store": "filesystem" if svc.settings.s3 is None else "s3",
        "blobs_copied": copy_blobs,
        "blob_count": len(facts["blobs"]),
        "blob_bytes": sum(b["size"] for b in facts["blobs"]),
        "blobs": facts["blobs"],
    }
    if not copy_blobs:
        manifest["note"] = UNVERSIONED_BUCKET_NOTE
    with open(folder / MANIFEST, "w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=1)
        out.flush()
        os.fsync(out.fileno())
    _fsync(folder)
    return manifest


def _copy_blobs_out(svc: "Services", blobs: list[dict[str, Any]], root: Path) -> None:
    """Each blob read through the store's hash-checking reader and hashed again as written:
    a damaged blob stops the backup rather than being copied."""
    for blob in blobs:
        path = root / blob_key(blob["sha256"])
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            with svc.blobs.open(blob["sha256"]) as reader, open(path, "wb") as out:
                while chunk := reader.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BlobNotFound:
            raise BackupFailed(_l("stored file %(sha256)s is missing from the store", sha256=blob["sha256"])) from None
        except BlobCorrupted:
            raise BackupFailed(_l("stored file %(sha256)s is corrupted in the store",
                                  sha256=blob["sha256"])) from None
        if digest.hexdigest() != blob["sha256"]:
            raise BackupFailed(_l("stored file %(sha256)s is corrupted in the store", sha256=blob["sha256"]))


# --- restore -----------------------------------------------------------------------------

def read_manifest(source: Path) -> dict[str, Any]:
    try:
        with open(Path(source) / MANIFEST, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        raise Unprocessable(_l("%(path)s is not a lienthong backup (no readable manifest.json)",
                               path=str(source))) from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT or not _well_formed(manifest):
        raise Unprocessable(_l("%(path)s is not a lienthong backup of a format this version reads",
                               path=str(source)))
    return manifest


def _well_formed(manifest: dict[str, Any]) -> bool:
    """Every field the restore reads, of its type; file names only of our own making (a
    manifest must not send the restore to read ``../../elsewhere``)."""
    database, blobs = manifest.get("database"), manifest.get("blobs")
    if not (isinstance(database, dict) and database.get("file") in (SQLITE_FILE, PG_ARCHIVE)
            and database.get("kind") in ("sqlite", "postgresql") and isinstance(database.get("sha256"), str)
            and (database.get("schema") is None or isinstance(database.get("schema"), str))):
        return False
    if not (isinstance(manifest.get("blobs_copied"), bool) and isinstance(manifest.get("counts"), dict)
            and isinstance(manifest.get("audit_chain_head"), dict) and isinstance(blobs, list)):
        return False
    for blob in blobs:
        if not (isinstance(blob, dict) and isinstance(blob.get("size"), int) and isinstance(blob.get("sha256"), str)):
            return False
        try:
            blob_key(blob["sha256"])
        except ValueError:
            return False
    return True


def _check_target_empty(svc: "Services", manifest: dict[str, Any]) -> None:
    kind = "sqlite" if is_sqlite(svc.engine) else "postgresql"
    if manifest["database"]["kind"] != kind:
        raise Unprocessable(_l("the backup holds a %(backup)s database; the configured database is %(target)s",
                               backup=manifest["database"]["kind"], target=kind))
    with svc.engine.connect() as conn:
        if not database_is_empty(conn):
            raise Conflict(_l("the configured database is not empty: restore only onto an empty database"))
        if kind == "postgresql" and current_schema(conn) != manifest["database"]["schema"]:
            raise Unprocessable(_l("the backup holds schema %(backup)s; the configured database's search_path "
                                   "names %(target)s (create that schema, or point the URL at it)",
                                   backup=manifest["database"]["schema"], target=str(current_schema(conn))))
    if svc.settings.s3 is None and any(p.is_file() for p in (svc.settings.blob_dir / "sha256").rglob("*")):
        raise Conflict(_l("the data folder already holds stored files: restore only onto an empty data folder"))


def _verify_backup_blobs(source: Path, manifest: dict[str, Any]) -> list[str]:
    """The SHA-256s of the backup's blob files that are missing or do not match, read before
    anything is changed."""
    damaged = []
    for blob in manifest["blobs"]:
        path = source / BLOB_DIR / blob_key(blob["sha256"])
        try:
            if path.stat().st_size != blob["size"] or _sha256_file(path) != blob["sha256"]:
                damaged.append(blob["sha256"])
        except OSError:
            damaged.append(blob["sha256"])
    return damaged


def restore_backup(svc: "Services", source: Path) -> RestoreCheck:
    """Restore the backup folder ``source`` onto the configured database and blob store,
    which must be empty, then re-read it all: every revision's and attachment's blob through
    the hash-checking reader, the audit chain, the row counts. A damaged backup (database
    archive or blob file) is refused before anything is written."""
    source = Path(source)
    manifest = read_manifest(source)
    _check_target_empty(svc, manifest)
    archive = source / manifest["database"]["file"]
    if not archive.is_file() or _sha256_file(archive) != manifest["database"]["sha256"]:
        raise BackupFailed(_l("the backup's database file is missing or damaged (SHA-256 differs from the "
                              "manifest)"), code=Unprocessable.code)
    if manifest["blobs_copied"]:
        damaged = _verify_backup_blobs(source, manifest)
        if damaged:
            raise BackupFailed(_l("%(count)s file(s) of the backup are missing or damaged: %(list)s",
                                  count=len(damaged), list=", ".join(damaged)), code=Unprocessable.code)
    try:
        if is_sqlite(svc.engine):
            copy_sqlite(archive, sqlite_file(svc.engine))
        else:
            restore_postgres(svc.engine, archive, manifest["database"]["schema"])
    except SnapshotError as exc:
        raise BackupFailed(_l("the database could not be restored: %(reason)s", reason=str(exc))) from None
    if manifest["blobs_copied"]:
        svc.blobs.initialize()  # a restore makes the store on purpose (never re-created silently)
        _copy_blobs_in(svc, source, manifest["blobs"])
    return _check_restored(svc, manifest)


def _copy_blobs_in(svc: "Services", source: Path, blobs: list[dict[str, Any]]) -> None:
    for blob in blobs:
        raw = open(source / BLOB_DIR / blob_key(blob["sha256"]), "rb", buffering=0)
        # checked again as it is stored: a file changed since the check above is not kept
        with HashCheckingReader(raw, blob["sha256"], blob["size"]) as reader:
            try:
                svc.blobs.put(reader)  # type: ignore[arg-type]  # a binary stream (RawIOBase)
            except BlobError as exc:
                raise BackupFailed(_l("stored file %(sha256)s could not be restored: %(reason)s",
                                      sha256=blob["sha256"], reason=str(exc))) from None


def _check_restored(svc: "Services", manifest: dict[str, Any]) -> RestoreCheck:
    blobs = check_blobs(svc)
    chain = verify_chain(svc)
    result = RestoreCheck(blobs_checked=blobs.checked, missing=blobs.missing, corrupted=blobs.corrupted,
                          chain_ok=chain.ok, chain_checked=chain.checked)
    with svc.engine.connect() as conn:
        restored = _facts(conn)
    for table, count in manifest["counts"].items():
        if restored["counts"].get(table) != count:
            result.counts_differ[table] = (count, restored["counts"].get(table, 0))
    if restored["audit_chain_head"] != manifest["audit_chain_head"]:
        result.chain_ok = False
    return result
