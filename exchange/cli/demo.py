"""``flask demo seed``: a demo world to try the service on."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from exchange.cli.common import refusals_exit, services
from exchange.services.demo import seed_demo

demo_cli = AppGroup("demo", help="Dữ liệu thử / a demo world.")


@demo_cli.command("seed", help="Create Vĩnh Long province's demo agencies, users, tokens (and credentials).")
@click.option("--if-missing", is_flag=True, help="do nothing when the demo province exists")
@click.option("--no-credentials", is_flag=True, help="do not issue signing credentials")
def demo_seed(if_missing: bool, no_credentials: bool) -> None:
    with refusals_exit():
        result = seed_demo(services(), if_missing=if_missing, issue_credentials=not no_credentials)
    if result is None:
        click.echo("đã có dữ liệu thử / the demo exists: nothing done", err=True)
        return
    click.echo(f"{result.agencies} cơ quan / agencies")
    click.echo("Mật khẩu (chỉ hiện một lần) / passwords (shown once):")
    for username, code, password in result.passwords:
        click.echo(f"  {username:<20} {code:<15} {password}")
    click.echo("Token hệ thống của cơ quan (chỉ hiện một lần) / agency system tokens (shown once):")
    for code, secret in result.tokens:
        click.echo(f"  {code:<15} {secret}")
    for line in result.credentials:
        click.echo(f"  chứng thư / credential: {line}")
    for warning in result.warnings:
        click.echo(f"cảnh báo / warning: {warning}", err=True)
