"""The migrations and the ``flask db`` commands (storage/migrations.py), on SQLite and PostgreSQL.

0003 was once edited in place to add the login limiter's index; it is back to what it was
when it landed and 0004 adds the index where it is missing, so a database migrated during
the edit and a fresh one both reach the head with it. ``db revision`` writes the next
numbered migration, in plain SQLAlchemy types."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import storage.migrations
from app import create_app
from settings import Settings
from storage.db import make_engine
from storage.migrations import MIGRATIONS_DIR, current_revision, head_revision, upgrade
from tests.db import drop_everything

ROOT = Path(__file__).resolve().parents[3]
LOGIN_INDEX = "ix_audit_event_action_object_seq"
BEFORE_THE_INDEX = "0003_exchange"


@pytest.fixture
def empty_url(database_url: str) -> str:
    drop_everything(database_url)
    return database_url


def _indexes(url: str, table: str) -> dict[str, list[str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {ix["name"]: ix["column_names"] for ix in sa.inspect(conn).get_indexes(table)}  # type: ignore[misc]
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_a_fresh_database_gets_the_login_index(empty_url: str) -> None:
    upgrade(empty_url)
    assert _indexes(empty_url, "audit_event")[LOGIN_INDEX] == ["action", "object", "seq"]
    assert _revision(empty_url) == head_revision()


def test_a_database_migrated_by_the_edited_0003_reaches_the_head(empty_url: str) -> None:
    upgrade(empty_url, BEFORE_THE_INDEX)
    assert LOGIN_INDEX not in _indexes(empty_url, "audit_event")  # 0003 as it landed
    engine = make_engine(empty_url)
    with engine.begin() as conn:  # what the edited 0003 made
        conn.exec_driver_sql(f"CREATE INDEX {LOGIN_INDEX} ON audit_event (action, object, seq)")
    engine.dispose()
    upgrade(empty_url)
    assert _indexes(empty_url, "audit_event")[LOGIN_INDEX] == ["action", "object", "seq"]
    assert _revision(empty_url) == head_revision()


def test_migrations_that_have_landed_are_numbered_in_one_line() -> None:
    """Each file's revision is its name and follows the one before: `db revision` counts on it."""
    chain: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values = {t.id: ast.literal_eval(node.value) for node in ast.parse(path.read_text()).body
                  if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
                  and t.id in ("revision", "down_revision")}
        assert values["revision"] == path.stem
        chain[path.stem] = values["down_revision"]
    names = sorted(chain)
    assert [chain[n] for n in names] == [None, *names[:-1]]
    assert names[-1] == head_revision()


# --- `flask --app app db …` ---------------------------------------------------------------

@pytest.mark.slow
def test_db_upgrade_then_current_show_the_head(tmp_path: Path, empty_url: str) -> None:
    """As an operator runs them: the venv's flask, in the project folder, in real processes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    env.update(LIENTHONG_DATA_DIR=str(tmp_path / "var"), LIENTHONG_DATABASE_URL=empty_url)
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "app", "db"]

    def run(*args: str) -> str:
        proc = subprocess.run([*flask, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert run("current") == "none (never migrated)"
    run("upgrade")
    assert run("current") == head_revision()


@pytest.fixture
def migrations_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`db revision` writing into a copy of migrations/, never into the real one."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(storage.migrations, "MIGRATIONS_DIR", copy)
    real = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    yield copy
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")) == real


def _db_revision(tmp_path: Path, url: str, message: str) -> Path:
    app = create_app(Settings(data_dir=tmp_path / "var", database_url=url, testing=True))
    try:
        with app.app_context():  # as the flask command pushes it for every command
            result = app.test_cli_runner().invoke(args=["db", "revision", "-m", message])
    finally:
        app.extensions["lienthong.services"].close()
    assert result.exit_code == 0, result.output
    written = [Path(line.removeprefix("wrote ")) for line in result.output.splitlines() if line.startswith("wrote ")]
    assert len(written) == 1, result.output
    return written[0]


def _function_body(source: str, name: str) -> list[ast.stmt]:
    function = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return function.body


def _assignments(source: str) -> dict[str, Any]:
    return {t.id: ast.literal_eval(n.value) for n in ast.parse(source).body if isinstance(n, ast.Assign)
            for t in n.targets if isinstance(t, ast.Name)}


def test_db_revision_writes_the_next_numbered_migration(tmp_path: Path, empty_url: str,
                                                        migrations_copy: Path) -> None:
    upgrade(empty_url)  # the database at head: the models add nothing
    path = _db_revision(tmp_path, empty_url, "Index for the incoming register!")
    assert path.parent == migrations_copy / "versions"
    previous = head_revision()
    number = int(previous[:4]) + 1
    assert path.name == f"{number:04d}_index_for_the_incoming_register.py"  # named by its revision id
    source = path.read_text()
    assert _assignments(source)["revision"] == path.stem
    assert _assignments(source)["down_revision"] == previous
    for function in ("upgrade", "downgrade"):
        assert [type(s) for s in _function_body(source, function)] == [ast.Pass], source


def test_db_revision_writes_a_utc_column_as_a_plain_type(tmp_path: Path, empty_url: str,
                                                         migrations_copy: Path) -> None:
    """A migration stands alone: storage.db.UTCDateTime is written as sa.DateTime(timezone=True)
    (migrations/env.py's render_item), so no migration imports the code it migrates."""
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as conn:  # the models now have a UTC column the database lacks
        conn.exec_driver_sql("ALTER TABLE outbox_event DROP COLUMN created_at")
    engine.dispose()
    source = _db_revision(tmp_path, empty_url, "outbox created_at").read_text()
    upgrade_source = "\n".join(ast.unparse(statement) for statement in _function_body(source, "upgrade"))
    assert "sa.Column('created_at', sa.DateTime(timezone=True), nullable=False)" in upgrade_source, source
    assert "UTCDateTime" not in source and "storage" not in source, source
