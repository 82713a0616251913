"""``flask storage check``: re-read every blob the database references."""
from __future__ import annotations

import sys

from flask.cli import AppGroup

from exchange.cli.common import echo, services
from exchange.services.storage_check import check_blobs
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
