"""SIGTERM answers parked long-polls at once (an empty page, the cursor unchanged) and the
server exits cleanly, under ``python app.py`` and under gunicorn (docs/deployment.md)."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import requests

from tests.db import session_scope
from tests.e2e.gunicorn_support import ROOT, free_port, gunicorn_argv, server_env, wait_until_up
from tests.exchange_fixtures import build_world
from storage.db import make_engine

pytestmark = pytest.mark.e2e
WAIT = 25
CURSOR = "7"  # past every delivery: the poll parks, and its empty page must hand it back
ANSWERED_WITHIN_S = 2.5


def _world_token(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with session_scope(engine, write=True) as session:
            world = build_world(session)
        return world.agency_tokens[world.all_communes[0]]
    finally:
        engine.dispose()


def _park_then_terminate(server: subprocess.Popen[bytes], base: str, token: str) -> None:
    answers: list[Any] = []

    def poll() -> None:
        try:
            answers.append(requests.get(f"{base}/api/v1/inbox", params={"wait": WAIT, "after": CURSOR},
                                        headers={"Authorization": f"Bearer {token}"}, timeout=WAIT + 10))
        except requests.RequestException as exc:  # a reset connection is a failure, kept to be shown
            answers.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(2)  # parked by now
    assert not answers, "the poll answered before the stop"
    terminated = time.monotonic()
    server.send_signal(signal.SIGTERM)
    poller.join(WAIT + 10)
    answered_after = time.monotonic() - terminated
    assert len(answers) == 1 and isinstance(answers[0], requests.Response), answers
    response = answers[0]
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": CURSOR}
    print(f"answered {answered_after:.2f} s after SIGTERM")  # the figure in docs/reliability.md
    assert answered_after < ANSWERED_WITHIN_S, f"answered {answered_after:.1f} s after SIGTERM"
    assert server.wait(15) == 0


def _run(argv: list[str], env: dict[str, str], base: str, token: str) -> None:
    server = subprocess.Popen(argv, env=server_env(env), cwd=ROOT)
    try:
        wait_until_up(server, f"{base}/healthz")
        _park_then_terminate(server, base, token)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(5)


def test_sigterm_answers_a_parked_poll_under_python_app(tmp_path, database_url):
    token = _world_token(database_url)
    port = free_port()
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var"), "LIENTHONG_DATABASE_URL": database_url,
           "LIENTHONG_PORT": str(port)}
    _run([sys.executable, "app.py"], env, f"http://127.0.0.1:{port}", token)


def test_sigterm_answers_a_parked_poll_under_gunicorn(tmp_path, database_url):
    token = _world_token(database_url)
    port = free_port()
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var"), "LIENTHONG_DATABASE_URL": database_url}
    # the graceful timeout well above the wait, as docs/deployment.md says: only the wake-up ends the poll early
    argv = [*gunicorn_argv("app:create_app()", port), "--graceful-timeout", str(WAIT + 20)]
    _run(argv, env, f"http://127.0.0.1:{port}", token)
