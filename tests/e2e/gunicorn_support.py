"""Run the app under gunicorn on 127.0.0.1 for a test or a bench, as docs/deployment.md says
to run it (gevent workers)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

ROOT = Path(__file__).resolve().parents[2]
# beside the interpreter running the tests: a git worktree has no .venv of its own
GUNICORN = Path(sys.executable).parent / "gunicorn"
WORKERS = 2
WORKER_CLASS = "gevent"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def gunicorn_argv(app_spec: str, port: int, *, workers: int = WORKERS, host: str = "127.0.0.1") -> list[str]:
    return [str(GUNICORN), "-k", WORKER_CLASS, "-w", str(workers), "--worker-connections", "1000",
            "-b", f"{host}:{port}", "--log-level", "warning", "--graceful-timeout", "5", app_spec]


def server_env(env: dict[str, str], pythonpath: str = "") -> dict[str, str]:
    return {**os.environ, **env, "PYTHONPATH": f"{ROOT}:{pythonpath}" if pythonpath else str(ROOT)}


def wait_until_up(server: subprocess.Popen[bytes], probe_url: str, timeout: float = 60) -> None:
    """Returns once ``probe_url`` answers; raises if the server exits or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(probe_url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.3)


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], *, probe: str = "/healthz", workers: int = WORKERS,
             pythonpath: str = "", host: str = "127.0.0.1", output: IO[bytes] | None = None) -> Iterator[str]:
    """Serve ``app_spec`` (e.g. ``app:create_app()``) on ``host`` (any loopback address: two
    of them stand for two machines); yields the base URL once ``probe`` answers.
    ``output``: a file for the server's stdout and stderr (its log lines), else the caller's."""
    port = free_port(host)
    server = subprocess.Popen(gunicorn_argv(app_spec, port, workers=workers, host=host),
                              env=server_env(env, pythonpath), cwd=ROOT, stdout=output, stderr=output)
    base = f"http://{host}:{port}"
    try:
        wait_until_up(server, f"{base}{probe}")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
