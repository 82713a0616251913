"""``/api/v1/docs``: Swagger UI served by the app from the ``swagger-ui-bundle`` package (no
CDN: a closed network sees the same page), started by a file of ours rather than an inline
script, so that the page lives under the same Content-Security-Policy as every other."""
from __future__ import annotations

from flask import Blueprint, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]  # no type hints shipped
from werkzeug.wrappers import Response

bp = Blueprint("api_docs", __name__, template_folder="templates")
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})


@bp.get("/api/v1/docs")
def docs() -> str:
    return render_template("web/docs.html", spec_url=url_for("openapi.spec"))


@bp.get("/api/v1/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:  # only the files the page uses, never the package's own index page
        return Response(status=404)
    return send_from_directory(swagger_ui_path, name, max_age=24 * 3600)
