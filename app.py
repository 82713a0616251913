"""lienthong: the application factory. ``python app.py`` serves on the embedded defaults."""
from __future__ import annotations

import functools
import logging
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, NoReturn

import click
from apiflask import APIFlask
from flask import Flask
from flask.cli import with_appcontext
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel  # type: ignore[import-untyped]  # no type hints shipped
from werkzeug.middleware.proxy_fix import ProxyFix

import bootstrap
from certs.api import bp as pki_bp
from certs.cli import init_command, pki_cli
from certs.ports import CREDENTIAL_AUDIT_KEY, DIRECTORY_KEY
from exchange.cli.accounts import tokens_cli, users_cli
from exchange.cli.agencies import agencies_cli
from exchange.cli.audit import audit_cli
from exchange.cli.backup import backup_command, restore_command
from exchange.cli.demo import demo_cli, demo_seed
from exchange.cli.edxml import edxml_cli
from exchange.cli.storage import storage_cli
from exchange.http import graceful_stop, guards, logs, metrics, security
from exchange.http.web import docs as web_docs
from exchange.http.web import actions as _web_actions  # noqa: F401  (their pages join the web blueprint)
from exchange.http.web import incoming as _web_incoming  # noqa: F401
from exchange.http.web import outgoing as _web_outgoing  # noqa: F401
from exchange.http.web import registers as _web_registers  # noqa: F401
from exchange.http.web import verify as _web_verify  # noqa: F401
from exchange.http.web import audit as _web_audit  # noqa: F401
from exchange.http.web import admin as _web_admin  # noqa: F401
from exchange.http.web import routes as web_routes
from exchange.http.api import (agencies, attachments, audit, dispatch, documents, edxml, events, inbox,
                               openapi_contract, query_guard, registers, session, signatures, verification,
                               webhooks)
from exchange.services.storage_check import newest_blob_present
from exchange.worker.command import worker_command
from exchange.services.warm_up import warm_up_signing
from exchange.http.auth import SECURITY_SCHEMES
from exchange.http.errors import ERROR_SCHEMA, register_error_handlers, request_language
from exchange.http.slow_bodies import BodyReadDeadline
from exchange.http.uploads import StagingRequest
from settings import ConfigError, Settings, load_or_create_secret
from storage import health
from storage.migrations import db_cli, upgrade_command
from translations import CATALOGUE_DIR, DEFAULT_LANGUAGE

# gunicorn halts ("App failed to load") on this code instead of respawning workers forever
EXIT_CONFIG_ERROR = 4
API_BLUEPRINTS = (session.bp, agencies.bp, audit.bp, documents.bp, verification.bp, signatures.bp, dispatch.bp,
                  inbox.bp, registers.bp, attachments.bp, events.bp, webhooks.bp, edxml.bp)
CLI_GROUPS = (db_cli, pki_cli, agencies_cli, users_cli, tokens_cli, audit_cli, demo_cli, storage_cli,
              backup_command, restore_command, worker_command, edxml_cli)


def create_app(settings: Settings | None = None) -> Flask:
    """The WSGI application. Called without settings — by ``flask --app app``, gunicorn
    (``'app:create_app()'``) — it reads them from the environment and turns a bad one into a
    single line on stderr and an exit; with settings (tests, scripts) it raises ConfigError."""
    if settings is None:
        with exit_on_config_error():
            return _create(Settings.from_env())
    return _create(settings)


def _create(settings: Settings) -> Flask:
    services = bootstrap.build(settings)
    # docs_path None: /api/v1/docs is ours (exchange.http.web.docs), Swagger UI served from a package
    app = APIFlask(__name__, title="lienthong API", version="1", spec_path="/api/v1/openapi.json",
                   docs_path=None, docs_oauth2_redirect_path=None)
    app.config.update(
        SECRET_KEY=load_or_create_secret(settings.data_dir / "secret_key"),
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        TESTING=settings.testing,
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,  # one error shape, in the OpenAPI document too
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        SECURITY_SCHEMES=SECURITY_SCHEMES,
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="session",
        # served over HTTPS (base_url says so): the cookie never travels in clear
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        BABEL_DEFAULT_LOCALE=DEFAULT_LANGUAGE, BABEL_TRANSLATION_DIRECTORIES=str(CATALOGUE_DIR),
    )
    Babel(app, locale_selector=request_language)
    assert isinstance(app.json, DefaultJSONProvider)
    app.json.ensure_ascii = False  # Vietnamese as it is, not \\u escapes
    app.request_class = StagingRequest  # an upload to be stored is written where the store keeps it
    app.wsgi_app = BodyReadDeadline(app.wsgi_app, settings.body_read_timeout_s)  # type: ignore[method-assign]  # Flask's documented way to add middleware
    if settings.proxy_hops:
        middleware = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
                              x_host=settings.proxy_hops)
        app.wsgi_app = middleware  # type: ignore[method-assign]  # Flask's documented way to add middleware
    app.extensions.update({
        "lienthong.services": services, "lienthong.settings": settings, "lienthong.engine": services.engine,
        "lienthong.blobs": services.blobs, DIRECTORY_KEY: services.directory,
        CREDENTIAL_AUDIT_KEY: services.credential_audit,
    })
    app.extensions[health.READINESS_KEY] = {"stored_files": functools.partial(newest_blob_present, services)}
    # what a long-running command (the worker) calls to log as the web server does
    app.extensions["lienthong.configure_logs"] = functools.partial(logs.configure, settings.log_format)
    register_error_handlers(app)
    logs.install(app)  # first: the request id and the timer start before any guard can answer
    metrics.install(app)
    query_guard.install(app)
    guards.install(app, json_limit=settings.max_json_kb * 1024)
    security.install(app, settings)  # CSRF and the security headers
    app.register_blueprint(health.bp)
    app.register_blueprint(pki_bp)
    for bp in API_BLUEPRINTS:
        app.register_blueprint(bp)
    app.register_blueprint(web_docs.bp)
    app.register_blueprint(web_routes.bp)
    openapi_contract.install(app)  # after the blueprints: it wraps the spec processor they registered
    for group in CLI_GROUPS:
        app.cli.add_command(group)
    app.cli.add_command(setup_command)
    return app


@click.command("setup", help="db upgrade, pki init and demo seed --if-missing in one start: what `make run` "
                             "needs before it serves.")
@click.pass_context
@with_appcontext
def setup_command(ctx: click.Context) -> None:
    # the three commands as they are, in one process: each ``flask`` start costs its imports
    # and its Services (docs/benchmarks.md, start-up), and these three are run together
    ctx.invoke(upgrade_command, revision="head")
    ctx.invoke(init_command)
    ctx.invoke(demo_seed, if_missing=True, no_credentials=False)


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        _exit(exc)


def _exit(exc: ConfigError) -> NoReturn:
    print(exc.one_line(), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_CONFIG_ERROR)


def main() -> None:
    with exit_on_config_error():
        settings = Settings.from_env()
        logs.configure(settings.log_format)
        app = create_app(settings)
    warm_up_verification(app)
    graceful_stop.serve_until_terminated(app, "127.0.0.1", settings.port)


def warm_up_verification(app: Flask) -> None:
    """Start the verification workers and load what signing needs now, in the background, in
    a process that serves requests (``python app.py``, each gunicorn worker: gunicorn.conf.py),
    so that the first verification need not wait for them and the first signature costs what
    the tenth does (exchange.services.warm_up); never in a ``flask`` command."""
    services = app.extensions["lienthong.services"]
    services.verifier.warm_up_in_background()
    threading.Thread(target=_warm_up_signing, args=(services,), name="lienthong-sign-warm-up", daemon=True).start()


def _warm_up_signing(services: bootstrap.Services) -> None:
    try:
        warm_up_signing(services)
    except Exception as exc:  # noqa: BLE001 - the first signature loads what is missing instead
        logging.getLogger(__name__).warning("signing was not warmed up: %s", exc)


if __name__ == "__main__":
    main()
