"""The development PKI's public services: CA certificates, CRLs, OCSP, RFC 3161 TSA. No auth."""
from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from flask import Blueprint, Response, current_app, request
from sqlalchemy.engine import Engine

from certs import operations, responders
from certs.ca import load_dev_pki
from errors import PayloadTooLarge, UnsupportedMediaType
from settings import Settings
from translations import _l

bp = Blueprint("pki", __name__, url_prefix="/pki")

MAX_REQUEST_BYTES = 64 * 1024  # an OCSP or TSP request is a few hundred bytes


def _settings() -> Settings:
    return current_app.extensions["lienthong.settings"]


def _engine() -> Engine:
    return current_app.extensions["lienthong.engine"]


def _body() -> bytes:
    if (request.content_length or 0) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(_l("request larger than %(max)s bytes", max=MAX_REQUEST_BYTES))
    data = request.get_data(cache=False)
    if len(data) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(_l("request larger than %(max)s bytes", max=MAX_REQUEST_BYTES))
    return data


def _binary(data: bytes, mimetype: str, max_age: int = 0) -> Response:
    response = Response(data, mimetype=mimetype)
    response.cache_control.max_age = max_age
    response.cache_control.public = max_age > 0
    return response


@bp.get("/ca.pem")
def ca_pem() -> Response:
    return _binary(load_dev_pki(_settings()).chain_pem(), "application/x-pem-file", max_age=3600)


@bp.get("/crl")
def crl() -> Response:
    settings = _settings()
    data = operations.current_crl(_engine(), settings)
    return _binary(data, "application/pkix-crl")


@bp.get("/root.crl")
def root_crl() -> Response:
    return _binary(responders.root_crl(_settings()), "application/pkix-crl")


@bp.post("/ocsp")
def ocsp() -> Response:
    # RFC 6960: every answer, malformed request included, is an OCSPResponse with 200.
    body = _body()
    data = operations.ocsp_answer(_engine(), _settings(), body)
    return _binary(data, "application/ocsp-response")


@bp.get("/ocsp/<path:encoded>")
def ocsp_get(encoded: str) -> Response:
    """RFC 6960 A.1: the DER request, base64 then URL-encoded, in the path (cacheable)."""
    try:
        body = base64.b64decode(unquote(encoded), validate=True)
    except (ValueError, binascii.Error):
        body = b""  # answered as malformedRequest below
    data = operations.ocsp_answer(_engine(), _settings(), body[:MAX_REQUEST_BYTES])
    return _binary(data, "application/ocsp-response")


@bp.post("/tsa")
def tsa() -> Response:
    if request.mimetype != "application/timestamp-query":
        raise UnsupportedMediaType(_l("send an RFC 3161 request as application/timestamp-query"))
    return _binary(responders.tsa_response(_settings(), _body()), "application/timestamp-reply")
