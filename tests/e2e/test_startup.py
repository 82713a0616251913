"""Start-up as an operator sees it: `python app.py` and `flask db upgrade` in real processes."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    env.update({"LIENTHONG_DATA_DIR": str(tmp_path / "var")}, **extra)
    return env


@pytest.mark.e2e
def test_fresh_data_folder_migrates_and_serves_health(tmp_path):
    env = _env(tmp_path, LIENTHONG_PORT=str(_free_port()))
    migrate = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "var" / "lienthong.db").exists()

    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{env['LIENTHONG_PORT']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "schema": "ok", "blob_store": "ok", "disk": "ok",
                                          "stored_files": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    secret = (tmp_path / "var" / "secret_key").read_bytes()
    assert len(secret) == 32 and secret.hex() not in (proc.stdout.read() or "")


@pytest.mark.e2e
@pytest.mark.parametrize("extra, fragment", [
    ({"LIENTHONG_DATABASE_URL": "oracle://scott@db/x"}, "unknown scheme 'oracle'"),
    ({"LIENTHONG_DATABASE_URL": "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none"},
     "cannot reach the database"),
])
def test_bad_settings_stop_start_up_with_one_line(tmp_path, extra, fragment):
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("lienthong: configuration error:") and fragment in lines[0]
    assert "hunter2" not in proc.stderr and "Traceback" not in proc.stderr
