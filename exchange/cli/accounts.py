"""``flask users …`` and ``flask tokens …``: people and the tokens of people and systems."""
from __future__ import annotations

import os

import click
from flask.cli import AppGroup

from exchange.cli.common import echo, refusals_exit, services, text
from exchange.services import accounts
from translations import Message, _l

users_cli = AppGroup("users", help="Người dùng / users.")
tokens_cli = AppGroup("tokens", help="API tokens.")


def _password(prompt: Message) -> str:
    return os.environ.get("LIENTHONG_PASSWORD") or click.prompt(text(prompt), hide_input=True,
                                                                confirmation_prompt=True)


@users_cli.command("create", help="Create a user; the password comes from the prompt or LIENTHONG_PASSWORD.")
@click.argument("username")
@click.option("--agency", "agency_code", required=True, help="agency code, e.g. 000.00.00.H62")
@click.option("--roles", required=True, help="comma-separated: clerk,signer,auditor,admin")
@click.option("--full-name", required=True)
@click.option("--position", default="")
def users_create(username: str, agency_code: str, roles: str, full_name: str, position: str) -> None:
    password = _password(_l("password"))
    with refusals_exit():
        user_id = accounts.create_user(services(), username=username, agency_code=agency_code, roles=roles,
                                       full_name=full_name, position=position, password=password)
    echo(_l("user %(username)s (id %(id)s) created", username=username, id=user_id))


@users_cli.command("passwd", help="Set a user's password (prompt or LIENTHONG_PASSWORD); ends their web sessions.")
@click.argument("username")
def users_passwd(username: str) -> None:
    password = _password(_l("new password"))
    with refusals_exit():
        accounts.change_password(services(), username, password)
    echo(_l("password changed: %(username)s", username=username))


@users_cli.command("roles", help="Replace a user's roles, e.g. clerk,signer (empty string: none).")
@click.argument("username")
@click.argument("roles")
def users_roles(username: str, roles: str) -> None:
    with refusals_exit():
        stored = accounts.change_roles(services(), username, roles)
    click.echo(f"{username}: {stored or '-'}")


@users_cli.command("deactivate", help="Refuse a user everywhere (web sessions and tokens) from now on.")
@click.argument("username")
def users_deactivate(username: str) -> None:
    with refusals_exit():
        accounts.change_active(services(), username, False)
    echo(_l("deactivated: %(username)s", username=username))


@users_cli.command("activate", help="Let a deactivated user in again.")
@click.argument("username")
def users_activate(username: str) -> None:
    with refusals_exit():
        accounts.change_active(services(), username, True)
    echo(_l("activated: %(username)s", username=username))


@tokens_cli.command("create", help="Create a token for a user or an agency's system; prints only the secret.")
@click.option("--user", "username", default=None)
@click.option("--agency", "agency_code", default=None)
@click.option("--name", default="")
def tokens_create(username: str | None, agency_code: str | None, name: str) -> None:
    if (username is None) == (agency_code is None):
        raise click.UsageError(text(_l("give exactly one of --user or --agency")))
    with refusals_exit():
        token_id, secret = accounts.create_token(services(), username=username, agency_code=agency_code, name=name)
    click.echo(f"token id {token_id}", err=True)  # stderr: stdout carries the secret alone
    click.echo(secret)


@tokens_cli.command("revoke", help="Revoke a token by its id.")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    with refusals_exit():
        accounts.revoke_token(services(), token_id)
    echo(_l("token %(id)s revoked", id=token_id))
