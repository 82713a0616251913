"""``flask audit verify``: check the audit chain."""
from __future__ import annotations

import sys

from flask.cli import AppGroup

from exchange.cli.common import echo, services
from exchange.services.audit import verify_chain
from translations import _l

audit_cli = AppGroup("audit", help="Nhật ký kiểm toán / the audit chain.")


@audit_cli.command("verify", help="Check the whole chain; exit code 1 when a link is broken.")
def audit_verify() -> None:
    check = verify_chain(services())
    if check.ok:
        echo(_l("audit chain intact: %(count)s events", count=check.checked))
    else:
        echo(_l("audit chain broken at event %(event)s (%(count)s checked before it)", event=check.first_broken,
                count=check.checked), err=True)
        sys.exit(1)
