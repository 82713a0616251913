"""exchange: the domain — agencies, users, documents, dispatch, inbox, lifecycle, audit chain, HTTP API and web UI."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's blueprints and `flask` commands."""
    from exchange import api, cli, directory, token_cache
    from exchange.auth import SECURITY_SCHEMES
    from exchange.schemas import ERROR_SCHEMA

    # errors.py gives every error one shape; say so in the OpenAPI document
    app.config["HTTP_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["VALIDATION_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["SECURITY_SCHEMES"] = {**(app.config.get("SECURITY_SCHEMES") or {}), **SECURITY_SCHEMES}
    settings = app.extensions["lienthong.settings"]
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="session",
                      # served over HTTPS (base_url says so): the cookie never travels in clear
                      SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"))

    app.register_blueprint(api.bp)
    from exchange import signing_api
    app.register_blueprint(signing_api.bp)
    from exchange import delivery_api
    app.register_blueprint(delivery_api.bp)
    directory.init_app(app)
    token_cache.configure(settings.token_cache_seconds)
    for command in cli.COMMANDS:
        app.cli.add_command(command)
