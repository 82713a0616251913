"""lienthong: the application factory. ``python app.py`` serves on the embedded defaults."""
from __future__ import annotations

import logging

from apiflask import APIFlask
from flask import Flask

from settings import ConfigError, Settings, load_or_create_secret
import certs
import exchange
import signing
from errors import register_error_handlers
from storage import blobs, db, health


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = APIFlask(
        __name__,
        title="lienthong API",
        version="1",
        spec_path="/api/v1/openapi.json",
        docs_path="/api/v1/docs",
        docs_oauth2_redirect_path=None,
    )
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the data folder {settings.data_dir}: {exc.strerror}") from None
    app.config.update(
        SECRET_KEY=load_or_create_secret(settings.data_dir / "secret_key"),
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["lienthong.settings"] = settings

    db.init_app(app, settings.effective_database_url)
    blobs.init_app(app, settings)

    register_error_handlers(app)
    app.register_blueprint(health.bp)
    certs.init_app(app)
    signing.init_app(app)
    exchange.init_app(app)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    app = create_app(settings)
    app.run(host="127.0.0.1", port=settings.port, threaded=True)


if __name__ == "__main__":
    main()
