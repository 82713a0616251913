"""The setup the API signing benchmarks share: a fresh data folder and SQLite database, the
application on them, the test world with its credentials, a test client."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class SigningApp:
    app: Any
    client: Any
    engine: Any
    settings: Any
    world: Any  # tests.signing_world.SigningWorld

    def close(self) -> None:
        self.app.extensions["lienthong.engine"].dispose()
        self.engine.dispose()


def signing_app(prefix: str, *credentials: str) -> SigningApp:
    """``credentials``: those ``build_signing_world`` issues ("signer", "seal"; both by default)."""
    from app import create_app
    from settings import Settings
    from storage.db import make_engine
    from storage.schema import import_all_models
    from tests.signing_world import build_signing_world

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    import_all_models().create_all(engine)
    settings = Settings(data_dir=folder / "var", database_url=url, testing=True)
    app = create_app(settings)
    return SigningApp(app, app.test_client(), engine, settings, build_signing_world(engine, settings, *credentials))
