"""``flask --app app …`` in its own process, as an operator runs it: the settings come from
``LIENTHONG_*`` variables naming the test's data folder and database."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 180


def _command(settings: Settings, args: Sequence[str], env: dict[str, str] | None) -> dict:  # type: ignore[type-arg]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    full_env.update(LIENTHONG_DATA_DIR=str(settings.data_dir), LIENTHONG_DATABASE_URL=settings.database_url,
                    LIENTHONG_BASE_URL=settings.base_url, **(env or {}))
    return {"args": [sys.executable, "-m", "flask", "--app", "app", *args], "cwd": ROOT, "env": full_env,
            "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def run_flask(settings: Settings, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one command; the caller checks ``returncode``, ``stdout`` and ``stderr``."""
    return subprocess.run(**_command(settings, args, env), timeout=TIMEOUT_S)


def run_flask_side_by_side(settings: Settings, commands: Sequence[Sequence[str]],
                           env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    """Independent commands in as many processes at once (each process start costs seconds);
    the results in the order given."""
    procs = [subprocess.Popen(**_command(settings, args, env)) for args in commands]
    results = []
    for args, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=TIMEOUT_S)
        results.append(subprocess.CompletedProcess(list(args), proc.returncode, out, err))
    return results
