"""``flask storage check | gc | init``: re-read every referenced blob, remove the unreferenced
ones, create the store on purpose."""
from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask.cli import AppGroup

from exchange.cli.common import echo, services
from exchange.services.storage_check import check_blobs
from exchange.services.storage_gc import collect_garbage, initialize_store
from translations import _l

storage_cli = AppGroup("storage", help="Kho tệp / the blob store.")


@storage_cli.command("check", help="Re-read every blob the database references; exit code 1 when one is "
                                   "missing or corrupted (each named by its SHA-256).")
def storage_check() -> None:
    result = check_blobs(services())
    for sha256 in result.missing:
        echo(_l("missing: %(sha256)s", sha256=sha256), err=True)
    for sha256 in result.corrupted:
        echo(_l("corrupted: %(sha256)s", sha256=sha256), err=True)
    if result.ok:
        echo(_l("all %(count)s stored files present and intact", count=result.checked))
    else:
        echo(_l("%(missing)s missing and %(corrupted)s corrupted of %(count)s stored files",
                missing=len(result.missing), corrupted=len(result.corrupted), count=result.checked), err=True)
        sys.exit(1)


@storage_cli.command("gc", help="Remove stored blobs no row refers to, last written more than --grace hours "
                                "ago (default LIENTHONG_STORAGE_GC_GRACE_HOURS, 24).")
@click.option("--grace", type=click.FloatRange(min=1), default=None, metavar="HOURS",
              help="Spare blobs younger than this (at least 1 hour: an upload in flight is younger).")
def storage_gc(grace: float | None) -> None:
    svc = services()
    hours = grace if grace is not None else float(svc.settings.storage_gc_grace_hours)
    result = collect_garbage(svc, grace=timedelta(hours=hours))
    for sha256 in result.removed:
        echo(_l("removed: %(sha256)s", sha256=sha256))
    for sha256 in result.retained:
        echo(_l("kept by the store's retention: %(sha256)s", sha256=sha256))
    echo(_l("%(removed)s removed (%(bytes)s bytes), %(referenced)s referenced, %(young)s younger than "
            "%(hours)s h kept", removed=len(result.removed), bytes=result.freed_bytes,
            referenced=result.referenced, young=result.spared_young, hours=f"{hours:g}"))


@storage_cli.command("init", help="Create the blob store's folder or bucket (and its marker). Needed once "
                                  "the database refers to blobs and the store was lost or replaced.")
def storage_init() -> None:
    missing = initialize_store(services())
    echo(_l("the blob store is ready"))
    if missing:
        echo(_l("the database refers to stored files the store lacks: restore them, then run "
                "`flask --app app storage check`"), err=True)
        sys.exit(1)
