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
