"""Every command README.md shows runs in the form it is shown: each ``flask --app app <group>
<command>`` exists with the options written beside it, each ``make`` target exists, and the
``gunicorn`` line loads the app. Each is checked in a real process, with the venv's tools (a
fresh clone has no ``flask`` on its PATH: README's lines are run as ``.venv/bin/flask``) and a
data folder of its own."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL

# the same on every database: CI runs it in its SQLite pass, not again in the PostgreSQL one
pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="database-independent: run once, in the SQLite pass")
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's console scripts
PREFIXES = ("flask ", ".venv/bin/flask ", "make ", "gunicorn ", ".venv/bin/gunicorn ")


def readme_commands(text: str) -> list[str]:
    """Command lines of README.md: in fenced or indented code blocks, and in inline code."""
    commands: list[str] = []
    fenced = False
    previous_blank = True
    in_indented = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        in_indented = line.startswith("    ") and (in_indented or previous_blank)
        previous_blank = not line.strip()
        if fenced or in_indented:
            candidates = [line.strip()]
        else:
            candidates = re.findall(r"`([^`]+)`", line)
        # `LIENTHONG_DATA_DIR=var .venv/bin/flask …`: the tests give every command a folder of its own
        candidates = [re.sub(r"^([A-Z_][A-Z0-9_]*=\S*\s+)+", "", c) for c in candidates]
        commands.extend(c for c in candidates if c.startswith(PREFIXES))
    return commands


COMMANDS = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))


def _id(line: str) -> str:
    return " ".join(shlex.split(line, comments=True)[:5])


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    env.update(LIENTHONG_DATA_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT))
    return env


def _run(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=180,
                          check=False)


def test_the_readme_shows_commands_of_each_kind() -> None:
    """The parser finds what it checks (an empty list would pass every test below)."""
    kinds = {c.split()[0].removeprefix(".venv/bin/") for c in COMMANDS}
    assert kinds == {"flask", "make", "gunicorn"}, COMMANDS
    assert any(c.removeprefix(".venv/bin/").split()[:4] == ["flask", "--app", "app", "db"] for c in COMMANDS), COMMANDS


def _flask_commands() -> list[str]:
    return [c for c in COMMANDS if c.split()[0].endswith("flask")]


def _command_path(words: list[str]) -> list[str]:
    path = []  # the group and the command (this app's commands are two deep)
    for word in words[3:5]:
        if word.startswith("-"):
            break
        path.append(word)
    return path


# One process answers every `--help`: the app built as `flask --app app` builds it (from the
# environment), its commands driven through Flask's own CLI runner under the name `flask`.
_HELP_ALL = """
import json, sys
from app import create_app
app = create_app()
out = {}
for path in json.loads(sys.argv[1]):
    result = app.test_cli_runner().invoke(args=[*path, "--help"], prog_name="flask")
    out[" ".join(path)] = [result.exit_code, result.output]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    paths = sorted({tuple(_command_path(shlex.split(line, comments=True))) for line in _flask_commands()})
    proc = _run([sys.executable, "-c", _HELP_ALL, json.dumps(paths)], tmp_path_factory.mktemp("helps"))
    assert proc.returncode == 0, proc.stderr
    return {key: (code, text) for key, (code, text) in json.loads(proc.stdout.splitlines()[-1]).items()}


@pytest.mark.e2e
@pytest.mark.parametrize("line", sorted(set(_flask_commands())), ids=_id)
def test_each_flask_command_exists_with_its_options(helps: dict[str, tuple[int, str]], line: str) -> None:
    words = shlex.split(line, comments=True)
    assert words[1:3] == ["--app", "app"], f"README runs flask without --app app: {line}"
    path = _command_path(words)
    code, text = helps[" ".join(path)]
    assert code == 0, f"{line}\n{text}"
    # click answers an unknown command with the group's usage and exit 2; a known one with its own
    assert text.startswith(" ".join(["Usage: flask", *path])), text
    for option in (w.split("=")[0] for w in words[3 + len(path):] if w.startswith("--")):
        assert re.search(rf"(^|[\s,]){re.escape(option)}\b", text, re.MULTILINE), \
            f"{line}: {' '.join(path)} has no {option}\n{text}"


@pytest.mark.e2e
@pytest.mark.parametrize("line", sorted({c for c in COMMANDS if c.startswith("make ")}), ids=_id)
def test_each_make_target_exists(tmp_path: Path, line: str) -> None:
    target = shlex.split(line, comments=True)[1]
    proc = _run(["make", "-n", "--no-print-directory", target], tmp_path)  # -n: print, run nothing
    assert proc.returncode == 0, f"{line}\n{proc.stderr}"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("line", sorted({c for c in COMMANDS if c.removeprefix(".venv/bin/").startswith("gunicorn ")}),
                         ids=_id)
def test_the_gunicorn_line_loads_the_app(tmp_path: Path, line: str) -> None:
    words = shlex.split(line, comments=True)
    proc = _run([str(BIN / "gunicorn"), "--check-config", *words[1:]], tmp_path)
    assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
