"""``flask audit verify``: check the audit chain."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from exchange.cli.common import services
from exchange.services.audit import verify_chain

audit_cli = AppGroup("audit", help="Nhật ký kiểm toán / the audit chain.")


@audit_cli.command("verify", help="Check the whole chain; exit code 1 when a link is broken.")
def audit_verify() -> None:
    check = verify_chain(services())
    if check.ok:
        click.echo(f"chuỗi nhật ký nguyên vẹn / audit chain intact: {check.checked} events")
    else:
        click.echo(f"chuỗi nhật ký bị hỏng tại sự kiện / audit chain broken at event {check.first_broken} "
                   f"({check.checked} checked before it)", err=True)
        sys.exit(1)
