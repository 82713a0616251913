"""``flask edxml …``: edXML (QCVN 102:2016) packages at the command line."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from exchange.cli.common import echo, refusals_exit, services, text
from exchange.services import edxml
from translations import _l

edxml_cli = AppGroup("edxml", help="Gói edXML (QCVN 102:2016) / edXML packages.")


@edxml_cli.command("import", help="Import an edXML package FILE into the inbox of --agency (one of its To), "
                                  "or apply a status package that --agency reports.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agency", "agency_code", required=True, help="the importing agency's code")
def edxml_import(file: Path, agency_code: str) -> None:
    with refusals_exit():
        answer, created = edxml.import_file(services(), agency_code, file)
    if not created:
        echo(_l("this package was imported before"))
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2, default=text))  # messages in the operator's language
