"""The database engine (SQLModel over SQLAlchemy) and the unit-of-work session scope.

SQLite (the embedded default) runs in WAL mode with a busy timeout so that several
processes can write; PostgreSQL is reached through psycopg 3. The schema is managed by
Alembic migrations (``flask --app app db upgrade``).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from settings import ConfigError

SQLITE_BUSY_TIMEOUT_S = 10
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseUnavailable(RuntimeError):
    """The database did not answer; the HTTP layer turns this into 503."""


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, **kwargs: object) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, **kwargs
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that
            # BEGIN IMMEDIATE below takes the write lock up front (no upgrade deadlocks).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            write = conn.get_execution_options().get("lienthong_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return sa.create_engine(url, **kwargs)


def describe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        raise DatabaseUnavailable(reason[0] if reason else type(exc).__name__) from None


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back on any error.

    ``write=True`` takes SQLite's write lock when the transaction begins, so two writers
    queue on the busy timeout instead of failing to upgrade a read lock.
    """
    bind = engine.execution_options(lienthong_write=True) if write else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def engine_from_app(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["lienthong.engine"]


def init_app(app: Flask, url: str) -> Engine:
    engine = make_engine(url)
    try:
        check_connection(engine)
    except DatabaseUnavailable as exc:
        engine.dispose()
        raise ConfigError(f"cannot reach the database {describe_url(url)}: {exc}") from None
    app.extensions["lienthong.engine"] = engine
    app.cli.add_command(db_cli)
    return engine


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["sqlalchemy_url"] = normalise_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


@click.group("db", help="Database schema (Alembic migrations).")
def db_cli() -> None:
    pass


@db_cli.command("upgrade", help="Apply every migration up to REVISION (default: head).")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    upgrade(str(engine_from_app().url.render_as_string(hide_password=False)), revision)
    click.echo(f"database at {revision}")


@db_cli.command("current", help="Show the schema revision the database is at.")
def current_command() -> None:
    from alembic import command

    command.current(alembic_config(engine_from_app().url.render_as_string(hide_password=False)))
