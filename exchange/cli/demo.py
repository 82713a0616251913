"""``flask demo seed``: a demo world to try the service on."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from exchange.cli.common import echo, refusals_exit, services, text
from exchange.services.demo import seed_demo
from translations import _l

demo_cli = AppGroup("demo", help="Dữ liệu thử / a demo world.")


@demo_cli.command("seed", help="Create Vĩnh Long province's demo agencies, users, tokens (and credentials).")
@click.option("--if-missing", is_flag=True, help="do nothing when the demo province exists")
@click.option("--no-credentials", is_flag=True, help="do not issue signing credentials")
def demo_seed(if_missing: bool, no_credentials: bool) -> None:
    with refusals_exit():
        result = seed_demo(services(), if_missing=if_missing, issue_credentials=not no_credentials)
    if result is None:
        echo(_l("the demo exists: nothing done"), err=True)
        return
    echo(_l("%(count)s agencies", count=result.agencies))
    echo(_l("passwords (shown once):"))
    for username, code, password in result.passwords:
        click.echo(f"  {username:<20} {code:<15} {password}")
    echo(_l("agency system tokens (shown once):"))
    for code, secret in result.tokens:
        click.echo(f"  {code:<15} {secret}")
    for line in result.credentials:
        click.echo("  " + text(_l("credential: %(credential)s", credential=line)))
    for warning in result.warnings:
        echo(_l("warning: %(warning)s", warning=warning), err=True)
