"""``flask`` commands for the exchange: agencies, users, tokens, audit, demo.

Each command is one unit of work over the same service functions the API uses, and
writes its audit event (actor ``cli``) in the same transaction.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

import click
from flask.cli import AppGroup
from sqlmodel import Session

from errors import ServiceError
from storage.db import engine_from_app, session_scope


def _fail(exc: ServiceError) -> None:
    click.echo(f"lỗi / error: {exc.message}", err=True)
    for name, message in (exc.fields or {}).items():
        click.echo(f"  {name}: {message}", err=True)
    sys.exit(1)


@contextmanager
def _db(write: bool = True) -> Iterator[Session]:
    """One unit of work; a refused change ends the command with its message and exit code 1."""
    try:
        with session_scope(engine_from_app(), write=write) as session:
            yield session
    except ServiceError as exc:
        _fail(exc)


agencies_cli = AppGroup("agencies", help="Danh bạ cơ quan / the agency directory.")


@agencies_cli.command("import", help="Import agencies from a CSV file with columns code,name,level,parent_code.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
def agencies_import(csv_file: str) -> None:
    from exchange.agencies import import_csv

    with _db() as session:
        result = import_csv(session, csv_file)
        if not result.ok:
            session.rollback()
    if not result.ok:
        for line, message in result.errors:
            click.echo(f"{csv_file}:{line}: {message}", err=True)
        click.echo("không nhập gì / nothing imported", err=True)
        sys.exit(1)
    click.echo(f"tạo mới / created: {result.created}, cập nhật / updated: {result.updated}")


@agencies_cli.command("merge", help="Merge OLD_CODE into another agency: mail for it goes there from --on.")
@click.argument("old_code")
@click.option("--into", "into_code", required=True, help="the successor's code")
@click.option("--on", "effective", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="first day of the merger (YYYY-MM-DD, default today)")
def agencies_merge(old_code: str, into_code: str, effective) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from exchange.agencies import merge

    day = effective.date() if effective else date.today()
    with _db() as session:
        merge(session, old_code, into_code, day)
    click.echo(f"{old_code} → {into_code} từ ngày / from {day.isoformat()}")


users_cli = AppGroup("users", help="Người dùng / users.")


@users_cli.command("create", help="Create a user; the password comes from the prompt or LIENTHONG_PASSWORD.")
@click.argument("username")
@click.option("--agency", "agency_code", required=True, help="agency code, e.g. 000.00.00.H62")
@click.option("--roles", required=True, help="comma-separated: clerk,signer,auditor,admin")
@click.option("--full-name", required=True)
@click.option("--position", default="")
def users_create(username: str, agency_code: str, roles: str, full_name: str, position: str) -> None:
    from exchange.users import create_user

    password = os.environ.get("LIENTHONG_PASSWORD") or click.prompt(
        "Mật khẩu / password", hide_input=True, confirmation_prompt=True)
    with _db() as session:
        user = create_user(session, username=username, agency_code=agency_code, roles=roles,
                           full_name=full_name, position=position, password=password)
        click.echo(f"người dùng / user {user.username} (id {user.id}) đã tạo / created")


@users_cli.command("passwd", help="Set a user's password (prompt or LIENTHONG_PASSWORD); ends their web sessions.")
@click.argument("username")
def users_passwd(username: str) -> None:
    from exchange.users import set_password

    password = os.environ.get("LIENTHONG_PASSWORD") or click.prompt(
        "Mật khẩu mới / new password", hide_input=True, confirmation_prompt=True)
    with _db() as session:
        set_password(session, username, password)
    click.echo(f"đã đổi mật khẩu / password changed: {username}")


@users_cli.command("roles", help="Replace a user's roles, e.g. clerk,signer (empty string: none).")
@click.argument("username")
@click.argument("roles")
def users_roles(username: str, roles: str) -> None:
    from exchange.users import set_roles

    with _db() as session:
        user = set_roles(session, username, roles)
        click.echo(f"{username}: {user.roles or '-'}")


@users_cli.command("deactivate", help="Refuse a user everywhere (web sessions and tokens) from now on.")
@click.argument("username")
def users_deactivate(username: str) -> None:
    from exchange.users import set_active

    with _db() as session:
        set_active(session, username, False)
    click.echo(f"đã khóa / deactivated: {username}")


@users_cli.command("activate", help="Let a deactivated user in again.")
@click.argument("username")
def users_activate(username: str) -> None:
    from exchange.users import set_active

    with _db() as session:
        set_active(session, username, True)
    click.echo(f"đã mở khóa / activated: {username}")


tokens_cli = AppGroup("tokens", help="API tokens.")


@tokens_cli.command("create", help="Create a token for a user or an agency's system; prints only the secret.")
@click.option("--user", "username", default=None)
@click.option("--agency", "agency_code", default=None)
@click.option("--name", default="")
def tokens_create(username: str | None, agency_code: str | None, name: str) -> None:
    from exchange.agencies import get_by_code
    from exchange.users import create_token, get_user

    if (username is None) == (agency_code is None):
        raise click.UsageError("give exactly one of --user or --agency")
    with _db() as session:
        if username is not None:
            token, secret = create_token(session, user_id=get_user(session, username).id, name=name)
        else:
            token, secret = create_token(session, agency_id=get_by_code(session, agency_code).id, name=name)
        token_id = token.id
    click.echo(f"token id {token_id}", err=True)  # stderr: stdout carries the secret alone
    click.echo(secret)


@tokens_cli.command("revoke", help="Revoke a token by its id.")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    from exchange.users import revoke_token

    with _db() as session:
        revoke_token(session, token_id)
    click.echo(f"token {token_id} đã thu hồi / revoked")


audit_cli = AppGroup("audit", help="Nhật ký kiểm toán / the audit chain.")


@audit_cli.command("verify", help="Check the whole chain; exit code 1 when a link is broken.")
def audit_verify() -> None:
    from exchange.audit import verify_chain

    with _db(write=False) as session:
        check = verify_chain(session)
    if check.ok:
        click.echo(f"chuỗi nhật ký nguyên vẹn / audit chain intact: {check.checked} events")
    else:
        click.echo(f"chuỗi nhật ký bị hỏng tại sự kiện / audit chain broken at event {check.first_broken} "
                   f"({check.checked} checked before it)", err=True)
        sys.exit(1)


demo_cli = AppGroup("demo", help="Dữ liệu thử / a demo world.")


@demo_cli.command("seed", help="Create Vĩnh Long province's demo agencies, users, tokens (and credentials).")
@click.option("--if-missing", is_flag=True, help="do nothing when the demo province exists")
@click.option("--no-credentials", is_flag=True, help="do not issue signing credentials")
def demo_seed(if_missing: bool, no_credentials: bool) -> None:
    from flask import current_app

    from exchange import demo

    with _db() as session:
        if demo.province_exists(session):
            if if_missing:
                click.echo("đã có dữ liệu thử / the demo exists: nothing done", err=True)
                return
            click.echo(f"lỗi / error: {demo.PROVINCE_CODE} đã có / already exists (use --if-missing)", err=True)
            sys.exit(1)
        result = demo.seed(session, current_app.extensions["lienthong.settings"],
                           issue_credentials=not no_credentials)
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


COMMANDS = (agencies_cli, users_cli, tokens_cli, audit_cli, demo_cli)
