"""What protects every response and every cookie-authenticated change: the security headers
(one after-request hook) and Flask-WTF's CSRF check.

CSRF: every form of the web pages carries Flask-WTF's token; a JSON call under ``/api``
authenticated by the session cookie needs it too, in the ``X-CSRFToken`` header (the pages
put it in a ``<meta name="csrf-token">``). A call with ``Authorization`` (a bearer token)
never carries a cookie's authority and is not checked. Logging in and out through
``/api/v1/session`` is not checked either: nothing of a user's is changed by a forged one
(and the JSON body a browser cannot send cross-site without CORS, which we never allow).
The Referer check Flask-WTF makes on HTTPS is off: ``Referrer-Policy: no-referrer`` means a
browser sends none; the token, bound to the session, is the check.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError, CSRFProtect  # type: ignore[import-untyped]  # no type hints shipped

from errors import ErrorCode
from exchange.http.auth import has_web_session
from exchange.http.errors import WEB_BLUEPRINT, render_error
from settings import Settings
from translations import _l

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
UNCHECKED_ENDPOINTS = frozenset({"api_session.post_session", "api_session.delete_session"})
# no inline script or style; images of our own and the data: icons Swagger UI draws
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# a PDF opened from us runs nothing of its own and can be framed by nobody
PDF_CSP = "sandbox; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

csrf = CSRFProtect()
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)


def csp_for_page_with_styles(html: str) -> str:
    """The CSP of a standalone page that carries its own ``<style>`` (the printable
    verification report, which must read the same once saved): those exact styles are
    allowed by their hashes, nothing else inline; no script at all."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()}'"
                      for m in _STYLE.findall(html))
    return CSP.replace("style-src 'self'", f"style-src 'self' {hashes}".rstrip())


def needs_csrf_token() -> bool:
    if request.method in SAFE_METHODS or request.endpoint in UNCHECKED_ENDPOINTS:
        return False
    if request.blueprint == WEB_BLUEPRINT:
        return True
    return not request.headers.get("Authorization") and has_web_session()


def install(app: Flask, settings: Settings) -> None:
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_SSL_STRICT=False, WTF_CSRF_TIME_LIMIT=None,
                      WTF_CSRF_HEADERS=["X-CSRFToken"])
    csrf.init_app(app)
    https = settings.base_url.startswith("https://")

    @app.before_request
    def _check_csrf() -> None:
        if needs_csrf_token():
            csrf.protect()

    @app.errorhandler(CSRFError)
    def _csrf_refused(exc: CSRFError) -> Response:
        return render_error(400, ErrorCode.CSRF_FAILED,
                            _l("the form's security token is missing or has expired; reload the page and try again"))

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        if response.mimetype == "application/pdf":
            headers["Content-Security-Policy"] = PDF_CSP
        elif "Content-Security-Policy" not in headers:  # a view may narrow or extend it (csp_for_page_with_styles)
            headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if https:
            headers["Strict-Transport-Security"] = HSTS
        return response
