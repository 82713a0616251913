"""The schema's migrations (Alembic, in ``migrations/``) and the ``flask db`` commands.

``flask --app app db upgrade`` brings a database to the head; ``db revision -m "…"`` writes
the next numbered migration from the difference between the models and the database it is
pointed at (``LIENTHONG_DATABASE_URL``, or the data folder's SQLite), to be read and edited
before it is committed; migrations that have landed are never edited in place.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from storage.db import full_url, normalise_url

# Alembic (with Mako and Pygments) is imported by the functions that migrate: every ``flask``
# command and the readiness check reach this module, and only ``db`` commands need it.
if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_NUMBERED = re.compile(r"^(\d{4})_")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # a file is named by its revision id alone (0004_audit_login_index.py): Alembic's default
    # would append the message's slug again after the id next_revision_id made from it
    cfg.set_main_option("file_template", "%%(rev)s")
    cfg.attributes["sqlalchemy_url"] = normalise_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it has no Alembic version table (never migrated)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def schema_is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def next_revision_id(slug: str) -> str:
    numbers = [int(m.group(1)) for p in (MIGRATIONS_DIR / "versions").glob("*.py")
               if (m := _NUMBERED.match(p.name))]
    words = re.sub(r"[^a-z0-9]+", "_", slug.lower()).strip("_")[:40] or "change"
    return f"{max(numbers, default=0) + 1:04d}_{words}"


def _engine() -> Engine:
    return current_app.extensions["lienthong.engine"]


@click.group("db", help="Database schema (Alembic migrations).")
def db_cli() -> None:
    pass


@db_cli.command("upgrade", help="Apply every migration up to REVISION (default: head).")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    upgrade(full_url(_engine()), revision)
    click.echo(f"database at {revision}")


@db_cli.command("current", help="Show the schema revision the database is at.")
def current_command() -> None:
    click.echo(current_revision(_engine()) or "none (never migrated)")


@db_cli.command("revision", help="Write the next migration from the models' difference with the database "
                                 "(which must be at head). Read and edit it before committing.")
@click.option("-m", "--message", required=True, help="what the migration does, e.g. 'outbox table'")
def revision_command(message: str) -> None:
    from alembic import command

    cfg = alembic_config(full_url(_engine()))
    script = command.revision(cfg, message=message, autogenerate=True, rev_id=next_revision_id(message))
    for made in script if isinstance(script, list) else [script]:
        if made is not None:
            click.echo(f"wrote {made.path}")
