"""The ``flask`` commands that neither sign, verify nor draw start without the heavy libraries
(docs/benchmarks.md, start-up): what they import is read from the interpreter's own import log
(``PYTHONPROFILEIMPORTTIME``, the ``-X importtime`` switch) of a real ``flask --app app`` run."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from settings import Settings
from tests.flask_cli import ROOT, TIMEOUT_S, run_flask

# what signing, verification and the register's PDF need, and no other command
HEAVY = {"pyhanko", "pyhanko_certvalidator", "fontTools", "pypdfium2", "reportlab", "PIL", "lxml", "aiohttp",
         "requests", "minio", "boto3", "botocore"}
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", re.MULTILINE)

AGENCIES_CSV = """code,name,level,parent_code
500.01.01.H05,Xã Một,commune,500.00.01.H05
500.00.01.H05,Huyện Một,district,500.00.00.H05
500.00.00.H05,Tỉnh Năm,province,
"""


def packages_in_log(stderr: str) -> set[str]:
    """The top-level packages an import log names."""
    return {name.split(".")[0] for name in _IMPORT_LINE.findall(stderr)}


def imported_packages(settings: Settings, *args: str) -> set[str]:
    """The top-level packages one ``flask --app app …`` process imported; it must succeed."""
    done = run_flask(settings, *args, env={"PYTHONPROFILEIMPORTTIME": "1", "LIENTHONG_PASSWORD": "mật-khẩu-dài-đủ-12"})
    assert done.returncode == 0, done.stderr[-2000:]
    packages = packages_in_log(done.stderr)
    # the log was read: a process that imported nothing we can see proves nothing
    assert {"flask", "sqlalchemy", "app", "bootstrap"} <= packages
    return packages


@pytest.mark.parametrize("args", [("--help",), ("audit", "verify"), ("users", "--help"), ("tokens", "--help"),
                                  ("agencies", "--help")], ids=" ".join)
def test_light_commands_load_no_heavy_library(settings: Settings, args: tuple[str, ...]) -> None:
    assert imported_packages(settings, *args) & HEAVY == set()


def test_directory_user_and_token_commands_load_no_heavy_library(settings: Settings, tmp_path: Path) -> None:
    csv_file = tmp_path / "agencies.csv"
    csv_file.write_text(AGENCIES_CSV, encoding="utf-8")
    loaded = imported_packages(settings, "agencies", "import", str(csv_file))
    loaded |= imported_packages(settings, "users", "create", "vanthu.xa", "--agency", "500.01.01.H05",
                                "--roles", "clerk", "--full-name", "Nguyễn Văn Thư")
    loaded |= imported_packages(settings, "tokens", "create", "--user", "vanthu.xa", "--name", "máy")
    assert loaded & HEAVY == set()


def test_the_log_shows_the_heavy_libraries_of_code_that_signs() -> None:
    """The checks above can fail: the same log of a process that loads the signing code names them."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app, signing.sign, signing.clerk_marks, "
                           "exchange.services.register_export as e; e._font()"],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=True)
    assert {"pyhanko", "fontTools", "pypdfium2", "reportlab"} <= packages_in_log(done.stderr)
