"""Consistent copies of the database and their restore: SQLite through its online backup API,
PostgreSQL through ``pg_dump``/``pg_restore`` (custom format) on an exported snapshot.

The connection details reach the PostgreSQL tools through libpq's environment variables
(``PGHOST``, ``PGUSER``, ``PGPASSWORD`` only when the URL has a password, …): nothing of the
URL is put on a command line, where any user of the machine could read it in ``ps``.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

PG_TOOL_TIMEOUT_S = 3600
# libpq's own variables for the URL's query parameters that matter to a connection
_LIBPQ_QUERY_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                    "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


class SnapshotError(Exception):
    """The copy or its restore could not be made; ``str()`` says why, without any password."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_file(engine: Engine) -> Path:
    path = engine.url.database
    if not path or path == ":memory:":
        raise SnapshotError("an in-memory SQLite database cannot be backed up")
    return Path(path)


def copy_sqlite(source: Path, target: Path) -> None:
    """Page-by-page copy of a live database in one step: SQLite holds a read transaction for
    the whole copy, so writers (WAL) go on and the copy is the database at one instant."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise SnapshotError(f"SQLite backup failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def open_sqlite_readonly(path: Path) -> Engine:
    """An engine over a backup file that can never write to it (no WAL files beside it)."""
    return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")


def database_is_empty(conn: sa.Connection) -> bool:
    """No table at all where the application would put its tables (SQLite file, or the
    PostgreSQL schema the connection's search_path names)."""
    if conn.dialect.name == "sqlite":
        return not conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type = 'table'").scalar()
    return not conn.exec_driver_sql("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_schema = current_schema()").scalar()


# --- PostgreSQL --------------------------------------------------------------------------

def libpq_env(url: URL) -> dict[str, str]:
    """The environment that makes ``pg_dump``/``pg_restore`` connect where ``url`` does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGDATABASE", url.database), ("PGPASSWORD", url.password)):
        if value:
            env[name] = str(value)
    for param, name in _LIBPQ_QUERY_ENV.items():
        given = url.query.get(param)
        if isinstance(given, str):
            env[name] = given
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SnapshotError(f"{name} is not installed (PostgreSQL client tools, same major version as the server)")
    return found


def check_tool_version(name: str, conn: sa.Connection) -> str:
    """The tool's path, when its major version is the server's: an older pg_dump refuses a
    newer server, and a newer one writes archives an older pg_restore cannot read."""
    path = _tool(name)
    answer = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", answer)
    server = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if found is None or int(found.group(1)) != server:
        raise SnapshotError(f"{name} is version {answer.strip() or '?'} but the server is PostgreSQL {server}: "
                            f"install the client tools of version {server}")
    return path


@contextmanager
def postgres_snapshot(engine: Engine) -> Iterator[tuple[sa.Connection, str]]:
    """A repeatable-read transaction and the id of its exported snapshot: queries on the
    connection and a ``pg_dump --snapshot`` given the id see the same instant."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            yield conn, str(snapshot_id)


def current_schema(conn: sa.Connection) -> str | None:
    """The schema the application's tables are in: PostgreSQL's current_schema(), or, when
    that schema does not exist yet (a fresh database to restore into), the first one the
    search_path names."""
    existing = conn.exec_driver_sql("SELECT current_schema()").scalar()
    if existing is not None:
        return str(existing)
    path = str(conn.exec_driver_sql("SHOW search_path").scalar_one())
    named = [part.strip().strip('"') for part in path.split(",") if part.strip() and "$user" not in part]
    return named[0] if named else None


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=PG_TOOL_TIMEOUT_S)
    if done.returncode != 0:
        # libpq never prints the password; the first lines say what went wrong
        reason = " ".join(done.stderr.strip().splitlines()[:3]) or f"exit code {done.returncode}"
        raise SnapshotError(f"{what} failed: {reason}")


def dump_postgres(engine: Engine, conn: sa.Connection, snapshot_id: str, schema: str, target: Path) -> None:
    """``pg_dump`` of one schema, custom format, at the snapshot ``postgres_snapshot`` exported."""
    pg_dump = check_tool_version("pg_dump", conn)
    _run([pg_dump, "--format=custom", f"--schema={schema}", f"--snapshot={snapshot_id}", "--no-owner",
          "--no-privileges", f"--file={target}"], libpq_env(engine.url), "pg_dump")


def restore_postgres(engine: Engine, archive: Path, schema: str) -> None:
    """``pg_restore`` of ``archive`` into ``schema`` of the engine's database, all or nothing
    (one transaction, stop at the first error). The schema is made here if missing: the
    archive's own CREATE SCHEMA is left out so that an existing empty one (``public``) is
    fine too."""
    with engine.begin() as conn:
        pg_restore = check_tool_version("pg_restore", conn)
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    env = libpq_env(engine.url)
    listing = subprocess.run([pg_restore, "--list", str(archive)], env=env, capture_output=True, text=True,
                             timeout=PG_TOOL_TIMEOUT_S)
    if listing.returncode != 0:
        raise SnapshotError(f"pg_restore cannot read the archive: {listing.stderr.strip()[:300]}")
    entries = [line for line in listing.stdout.splitlines()
               if not re.search(r"^\d+; \d+ \d+ (SCHEMA - |COMMENT - SCHEMA )", line)]
    with tempfile.NamedTemporaryFile("w", suffix=".list") as chosen:
        chosen.write("\n".join(entries) + "\n")
        chosen.flush()
        _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--use-list={chosen.name}", f"--dbname={engine.url.database}", str(archive)], env, "pg_restore")
