"""``/api/v1/docs``: Swagger UI 5 (it reads our OpenAPI 3.1 document) served by the app from
the files the ``flask-swagger-ui`` package ships — no CDN: a closed network sees the same
page. Only its files: its blueprint's page starts Swagger UI with an inline script; ours
starts it from a file (static/docs.js), so the page lives under the same
Content-Security-Policy as every other."""
from __future__ import annotations

from pathlib import Path

import flask_swagger_ui  # type: ignore[import-untyped]  # no type hints shipped
from flask import Blueprint, render_template, send_from_directory, url_for
from werkzeug.wrappers import Response

bp = Blueprint("api_docs", __name__, template_folder="templates")
SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})


@bp.get("/api/v1/docs")
def docs() -> str:
    return render_template("web/docs.html", spec_url=url_for("openapi.spec"))


@bp.get("/api/v1/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:  # only the files the page uses, never the package's own index page
        return Response(status=404)
    return send_from_directory(SWAGGER_UI, name, max_age=24 * 3600)
