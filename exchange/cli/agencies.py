"""``flask agencies …``: the agency directory."""
from __future__ import annotations

import sys
from datetime import datetime

import click
from flask.cli import AppGroup

from exchange.cli.common import echo, refusals_exit, services, text
from exchange.domain.times import vn_today
from exchange.services.directory import merge_agencies
from exchange.services.directory_import import import_agencies
from translations import _l

agencies_cli = AppGroup("agencies", help="Danh bạ cơ quan / the agency directory.")


@agencies_cli.command("import", help="Import agencies from a CSV file with columns code,name,level,parent_code.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
def agencies_import(csv_file: str) -> None:
    with refusals_exit():
        result = import_agencies(services(), csv_file)
    if not result.ok:
        for line, message in result.errors:
            click.echo(f"{csv_file}:{line}: {text(message)}", err=True)
        echo(_l("nothing imported"), err=True)
        sys.exit(1)
    echo(_l("created: %(created)s, updated: %(updated)s", created=result.created, updated=result.updated))


@agencies_cli.command("merge", help="Merge OLD_CODE into another agency: mail for it goes there from --on.")
@click.argument("old_code")
@click.option("--into", "into_code", required=True, help="the successor's code")
@click.option("--on", "effective", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="first day of the merger (YYYY-MM-DD, default today)")
def agencies_merge(old_code: str, into_code: str, effective: datetime | None) -> None:
    day = effective.date() if effective else vn_today()
    with refusals_exit():
        merge_agencies(services(), old_code, into_code, day)
    echo(_l("%(old)s → %(new)s from %(day)s", old=old_code, new=into_code, day=day.isoformat()))
