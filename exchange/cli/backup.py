"""``flask backup DIR`` and ``flask restore DIR``: the database and its blobs, copied at one
instant, and restored onto an empty database and data folder with every hash re-checked."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from exchange.cli.common import echo, refusals_exit, services
from exchange.services.backup import create_backup, restore_backup
from translations import _l


@click.command("backup", help="Write a consistent backup (database + stored files + manifest.json) into the new "
                              "folder DIR; with S3 the files stay in the (versioned) bucket unless --copy-blobs.")
@click.argument("target", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--copy-blobs", is_flag=True, help="With S3 storage: copy every referenced file into DIR too.")
def backup_command(target: Path, copy_blobs: bool) -> None:
    with refusals_exit():
        manifest = create_backup(services(), target, copy_blobs=copy_blobs)
    echo(_l("backup written to %(path)s: schema %(revision)s, %(documents)s documents, %(blobs)s stored files "
            "(%(bytes)s bytes, %(copied)s), audit chain at %(seq)s",
            path=str(target), revision=manifest["schema_revision"], documents=manifest["counts"].get("document", 0),
            blobs=manifest["blob_count"], bytes=manifest["blob_bytes"],
            copied=_l("copied") if manifest["blobs_copied"] else _l("listed, not copied"),
            seq=manifest["audit_chain_head"]["seq"]))
    if not manifest["blobs_copied"]:
        echo(_l("note: the stored files stay in the S3 bucket: it must be versioned or replicated"), err=True)


@click.command("restore", help="Restore the backup folder DIR onto the configured database and data folder, "
                               "which must be empty; then check every stored file's hash and the audit chain. "
                               "Exit code 1 when refused or when a check fails.")
@click.argument("source", metavar="DIR", type=click.Path(path_type=Path, exists=True, file_okay=False))
def restore_command(source: Path) -> None:
    with refusals_exit():
        result = restore_backup(services(), source)
    for sha256 in result.missing:
        echo(_l("missing: %(sha256)s", sha256=sha256), err=True)
    for sha256 in result.corrupted:
        echo(_l("corrupted: %(sha256)s", sha256=sha256), err=True)
    for table, (expected, found) in result.counts_differ.items():
        echo(_l("table %(table)s: %(found)s rows restored, the backup says %(expected)s",
                table=table, found=found, expected=expected), err=True)
    if not result.chain_ok:
        echo(_l("the audit chain does not verify after the restore"), err=True)
    if not result.ok:
        sys.exit(1)
    echo(_l("restored from %(path)s: %(count)s stored files present and intact, audit chain of %(events)s events "
            "verified", path=str(source), count=result.blobs_checked, events=result.chain_checked))
