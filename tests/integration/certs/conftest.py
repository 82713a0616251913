"""A live app on 127.0.0.1 whose ``base_url`` is its own address, so the URLs in the
certificates it issues (CRL, OCSP, caIssuers) reach it over real HTTP."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

from settings import Settings


@dataclass
class LiveServer:
    url: str
    app: Any
    settings: Settings


@pytest.fixture
def live_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    from app import create_app

    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(data_dir=tmp_path / "var", database_url=database_url, base_url=url, testing=True)
    holder["app"] = create_app(settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=holder["app"], settings=settings)
    finally:
        server.shutdown()
        thread.join(5)
        holder["app"].extensions["lienthong.engine"].dispose()


SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"


@dataclass
class SoftHSMToken:
    lib: str
    label: str
    pin: str


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHSMToken]:
    """One SoftHSM token for the session, with its own configuration in a tmp folder.

    Session-wide because a PKCS#11 library reads its configuration once per process.
    """
    import os
    import secrets
    import shutil
    import subprocess

    if not Path(SOFTHSM_LIB).exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 is not installed (apt softhsm2; `make system-deps`)")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    token = SoftHSMToken(lib=SOFTHSM_LIB, label=f"lt-{secrets.token_hex(4)}", pin=secrets.token_hex(6))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", token.label,
                    "--so-pin", secrets.token_hex(6), "--pin", token.pin],
                   check=True, capture_output=True, timeout=60)
    try:
        yield token
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous
