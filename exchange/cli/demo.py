"""``flask demo seed``: a demo world to try the service on (``make run`` calls it with
``--if-missing``, so what it prints is the first thing a new user reads)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from exchange.cli.common import echo, refusals_exit, services
from exchange.services.demo import OLD_PROVINCES, UNIT_CODES, DemoAccount, old_commune_code, seed_demo
from translations import _l

demo_cli = AppGroup("demo", help="Dữ liệu thử / a demo world.")


@demo_cli.command("seed", help="Create the Vĩnh Long demo (after the 2025 reform): agencies, users, tokens, "
                               "credentials.")
@click.option("--if-missing", is_flag=True, help="do nothing when the demo exists (and list its accounts)")
@click.option("--no-credentials", is_flag=True, help="do not issue signing credentials")
def demo_seed(if_missing: bool, no_credentials: bool) -> None:
    with refusals_exit():
        result = seed_demo(services(), if_missing=if_missing, issue_credentials=not no_credentials)
    if not result.created:
        echo(_l("the demo exists: nothing done. Its accounts (the passwords were shown once, when it was seeded):"))
        _accounts(result.accounts)
        _open_next()
        return
    echo(_l("%(count)s agencies today (the province, its communes and wards); %(old)s predecessors until "
            "2025-06-30 (the three former provinces, their districts, some communes)",
            count=result.agencies, old=result.predecessors))
    echo(_l("demo accounts: user, role, agency, password (shown once):"))
    _accounts(result.accounts)
    echo(_l("agency system tokens (shown once):"))
    for code, name, secret in result.tokens:
        click.echo(f"  {code:<15} {secret}  {name}")
    for line in result.credentials:
        echo(_l("credential: %(credential)s", credential=line))
    _open_next()
    group, _name, districts = OLD_PROVINCES[0]
    old_name, successor = districts[2][1][0]
    echo(_l("mail addressed to a former code goes to its successor and shows the redirect, e.g. %(old)s "
            "(%(old_name)s) → %(new)s", old=old_commune_code(group, 2, 0), old_name=old_name,
            new=UNIT_CODES[successor]))
    for warning in result.warnings:
        echo(_l("warning: %(warning)s", warning=warning), err=True)


def _accounts(accounts: list[DemoAccount]) -> None:
    for account in accounts:
        click.echo(f"  {account.username:<18} {account.role:<8} {account.agency_code:<15} "
                   f"{account.password or '—':<18} {account.agency_name}")


def _open_next() -> None:
    base = services().settings.base_url.rstrip("/")
    echo(_l("open next: %(web)s (sign in with an account above), the API docs %(docs)s (Authorize with a "
            "token)", web=f"{base}/", docs=f"{base}/api/v1/docs"))
