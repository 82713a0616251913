"""The trust folder is read once, at start-up (``bootstrap.build`` → ``certs.trust.load_trust_store``).

A bad ``LIENTHONG_TRUST_DIR`` stops gunicorn, ``python app.py`` and ``flask --app app db
upgrade`` with one line naming what is wrong (it once was a SystemExit raised inside a
request: gunicorn answered with an empty reply and respawned workers). Once started, no
request reads the folder again."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from app import EXIT_CONFIG_ERROR
from certs.credentials import SigningCredential
from signing.report import PASSED
from signing.sign import sign
from signing.verify import verify
from storage.db import make_engine
from tests.db import session_scope
from tests.e2e.gunicorn_support import ROOT, WORKERS, free_port, gunicorn, gunicorn_argv, server_env
from tests.exchange_fixtures import build_world
from tests.pdfs import make_pdf
from tests.conftest import TEST_DATABASE_URL
from tests.signing_pki import SigningPKI, person, signing_pki  # noqa: F401 (fixtures)

# the same on every database: CI runs it in its SQLite pass, not again in the PostgreSQL one
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="database-independent: run once, in the SQLite pass")]
# armoured like a certificate, but its body is no DER at all
BROKEN_PEM = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
BIN = Path(sys.executable).parent  # the venv's console scripts, as an operator runs them
# a config error must stop the process well before this; a server respawning workers never does
STOP_WITHIN_S = 90


@pytest.fixture(params=["broken-pem", "not-a-folder"])
def bad_trust(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A bad LIENTHONG_TRUST_DIR and what its error line must name."""
    if request.param == "broken-pem":
        folder = tmp_path / "trust"
        folder.mkdir()
        (folder / "README.txt").write_text("not a certificate suffix: skipped")
        broken = folder / "national-root.pem"
        broken.write_bytes(BROKEN_PEM)
        return folder, f"{broken} is not a certificate file"
    path = tmp_path / "national-root.pem"  # a file where a folder is expected
    path.write_bytes(BROKEN_PEM)
    return path, f"LIENTHONG_TRUST_DIR={path} is not a folder"


def _env(tmp_path: Path, trust: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    env.update(LIENTHONG_DATA_DIR=str(tmp_path / "var"), LIENTHONG_TRUST_DIR=str(trust),
               LIENTHONG_PORT=str(free_port()), PYTHONPATH=str(ROOT))
    return env


def _config_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("lienthong:")]


@pytest.mark.parametrize("command", [
    pytest.param([sys.executable, "app.py"], id="python-app.py"),
    pytest.param([str(BIN / "flask"), "--app", "app", "db", "upgrade"], id="flask-db-upgrade"),
])
def test_a_bad_trust_folder_stops_start_up_with_one_line(tmp_path: Path, bad_trust: tuple[Path, str],
                                                         command: list[str]) -> None:
    trust, names = bad_trust
    proc = subprocess.run(command, cwd=ROOT, env=_env(tmp_path, trust), capture_output=True, text=True,
                          timeout=STOP_WITHIN_S, check=False)
    assert proc.returncode == EXIT_CONFIG_ERROR, proc.stderr
    lines = _config_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("lienthong: configuration error: ") and names in lines[0], \
        proc.stderr


def test_a_bad_trust_folder_stops_gunicorn(tmp_path: Path, bad_trust: tuple[Path, str]) -> None:
    """gunicorn halts instead of respawning workers, with the documented worker count: the
    master builds the app once before forking (gunicorn.conf.py), so the line comes once and
    no two workers fail together (gunicorn would then crash on its own traceback)."""
    trust, names = bad_trust
    proc = subprocess.run(gunicorn_argv("app:create_app()", free_port()), cwd=ROOT,
                          env=server_env(_env(tmp_path, trust)), capture_output=True, text=True,
                          timeout=STOP_WITHIN_S, check=False)
    assert proc.returncode == EXIT_CONFIG_ERROR, proc.stderr
    lines = _config_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("lienthong: configuration error: ") and names in lines[0], \
        proc.stderr


def test_requests_never_read_the_trust_folder_again(tmp_path: Path, database_url: str,
                                                    signing_pki: SigningPKI,  # noqa: F811
                                                    person: SigningCredential) -> None:  # noqa: F811
    signed = sign(io.BytesIO(make_pdf()), person, level="B-LT", timestamper=signing_pki.timestamper(),
                  validation_context=signing_pki.validation_context()).data()
    assert verify(signed, trust_roots=[]).indication != PASSED  # only the folder's anchor makes it pass
    folder = tmp_path / "trust"
    folder.mkdir()
    anchor = signing_pki.write_root_pem(folder / "national-root.pem")
    engine = make_engine(database_url)
    with session_scope(engine, write=True) as session:
        world = build_world(session)
    engine.dispose()
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var"), "LIENTHONG_DATABASE_URL": database_url,
           "LIENTHONG_TRUST_DIR": str(folder)}

    def verified(base: str) -> dict:  # type: ignore[type-arg]
        reply = requests.post(f"{base}/api/v1/verify", headers=world.headers("auditor"), timeout=60,
                              files={"file": ("signed.pdf", io.BytesIO(signed), "application/pdf")})
        assert reply.status_code == 200, reply.text
        return reply.json()  # type: ignore[no-any-return]

    with gunicorn("app:create_app()", env) as base:
        before = verified(base)
        assert before["indication"] == PASSED, before
        anchor.write_bytes(BROKEN_PEM)  # what would stop a start-up now…
        (folder / "another.pem").write_bytes(BROKEN_PEM)
        for _ in range(2 * WORKERS):  # …changes nothing for any worker already running
            assert verified(base)["indication"] == PASSED
        shutil.rmtree(folder)
        assert verified(base)["indication"] == PASSED
