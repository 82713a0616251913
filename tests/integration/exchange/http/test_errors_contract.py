"""The one error contract (DESIGN.md §6): every code the service answers is an ``ErrorCode``
listed in the OpenAPI document, one code per condition (an encrypted PDF, a body over a
limit), and errors render as JSON under ``/api`` and for programs, as an HTML page for a
browser. Assertions are on codes, statuses and shapes, never on a message's wording."""
from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from werkzeug import exceptions as wz

from errors import ErrorCode, Unprocessable
from exchange.http.errors import CODE_OF_STATUS, status_of
from tests.db import session_scope
from tests.exchange_fixtures import World, auth, build_world, encrypted_pdf, make_pdf, snapshot, upload_via_api
from tests.signing_pki import person, signing_pki  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[4]
SOURCE_DIRS = ("certs", "exchange", "signing", "storage")
SOURCE_FILES = ("app.py", "bootstrap.py", "errors.py", "settings.py")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
CODES = {c.value for c in ErrorCode}


def _world(engine: Any) -> World:
    with session_scope(engine, write=True) as session:
        return build_world(session)


def _assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]


# --- the codes ---------------------------------------------------------------------------

def _source_files() -> Iterator[Path]:
    for name in SOURCE_FILES:
        yield ROOT / name
    for folder in SOURCE_DIRS:
        yield from (ROOT / folder).rglob("*.py")


def test_the_openapi_document_lists_every_error_code(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("HTTPError", "ValidationError"):
        code = schemas[name]["properties"]["error"]["properties"]["code"]
        assert code["type"] == "string"
        assert code["enum"] == [c.value for c in ErrorCode], name


def test_every_code_the_source_names_is_a_listed_code():
    # a mistyped ErrorCode.X in a rarely taken branch would only fail when a client meets it
    named = {m for path in _source_files() for m in re.findall(r"ErrorCode\.([A-Z_]+)", path.read_text("utf-8"))}
    assert named, "the scan found nothing: the paths are wrong"
    assert named <= set(ErrorCode.__members__), named - set(ErrorCode.__members__)
    # and no code travels as a bare string past the enum
    bare = [(path.relative_to(ROOT), line) for path in _source_files()
            for line in path.read_text("utf-8").splitlines() if re.search(r"\bcode=[\"']", line)]
    assert bare == []
    assert set(CODE_OF_STATUS.values()) <= set(ErrorCode)


def test_every_http_error_answers_a_listed_code(app):
    # werkzeug's own errors (routing, limits, abort) go through the same renderer as ours
    @app.get("/_http/<int:status>")
    def _raise(status: int) -> None:
        raise wz.default_exceptions[status]()

    client = app.test_client()
    for status in sorted(wz.default_exceptions):
        response = client.get(f"/_http/{status}")
        assert response.status_code == status
        code = response.get_json()["error"]["code"]
        assert code in CODES, (status, code)
        if status >= 500:  # the service failed: never blame the client's request
            assert code == ErrorCode.INTERNAL_ERROR, (status, code)


# --- one code per condition ----------------------------------------------------------------

def test_an_encrypted_pdf_has_one_code_on_upload_and_when_signing(client, engine, signing_pki, person):  # noqa: F811
    from signing.sign import sign

    world = _world(engine)
    upload = upload_via_api(client, world.headers("clerk"), pdf=encrypted_pdf())
    _assert_error(upload, 422, ErrorCode.PDF_ENCRYPTED)
    with pytest.raises(Unprocessable) as refused:
        sign(io.BytesIO(encrypted_pdf()), person, level="B-B")
    assert refused.value.code == ErrorCode.PDF_ENCRYPTED
    assert status_of(refused.value) == upload.status_code


@pytest.fixture
def small_app(settings):  # type: ignore[no-untyped-def]
    from app import create_app

    application = create_app(settings.with_changes(max_upload_mb=1))
    yield application
    application.extensions["lienthong.services"].close()


OVER_ONE_MB = 1024 * 1024 + 4096
OVER_PKI_LIMIT = 64 * 1024 + 1  # /pki answers a few hundred bytes of OCSP or TSP; its own limit is 64 KiB


def test_every_over_limit_body_is_413_payload_too_large(small_app):
    from tests.db import engine_from_app

    engine = engine_from_app(small_app)
    world = _world(engine)
    client = small_app.test_client()
    big = make_pdf() + b"%" + b"x" * OVER_ONE_MB + b"\n"
    before = snapshot(engine, small_app)
    _assert_error(upload_via_api(client, world.headers("clerk"), pdf=big), 413, ErrorCode.PAYLOAD_TOO_LARGE)
    verify = client.post("/api/v1/verify", headers=world.headers("auditor"), content_type="multipart/form-data",
                         data={"file": (io.BytesIO(big), "lon.pdf")})
    _assert_error(verify, 413, ErrorCode.PAYLOAD_TOO_LARGE)
    for size in (OVER_PKI_LIMIT, OVER_ONE_MB):  # over /pki's own limit, and over the app's
        ocsp = client.post("/pki/ocsp", data=b"\x30" * size, content_type="application/ocsp-request")
        _assert_error(ocsp, 413, ErrorCode.PAYLOAD_TOO_LARGE)
        tsa = client.post("/pki/tsa", data=b"\x30" * size, content_type="application/timestamp-query")
        _assert_error(tsa, 413, ErrorCode.PAYLOAD_TOO_LARGE)
    # a browser asking under /api still gets the JSON error
    as_browser = upload_via_api(client, {**world.headers("clerk"), "Accept": BROWSER}, pdf=big)
    _assert_error(as_browser, 413, ErrorCode.PAYLOAD_TOO_LARGE)
    assert snapshot(engine, small_app) == before


def test_the_413_is_documented_on_the_upload(client):
    upload = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/documents"]["post"]
    assert "413" in upload["responses"]


# --- JSON for programs, HTML for browsers ------------------------------------------------

@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_programs_get_the_json_error(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/nowhere", headers=headers)
    _assert_error(response, 404, ErrorCode.NOT_FOUND)
    assert set(response.get_json()) == {"error"}


def test_a_browser_gets_an_html_page_for_a_page(client):
    page = client.get("/nowhere", headers={"Accept": BROWSER})
    assert page.status_code == 404 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert re.search(r'<html lang="(vi|en)"', text)
    # the same message the JSON error gives, escaped for HTML; no code trail of any kind
    message = client.get("/nowhere", headers={"Accept": "application/json"}).get_json()["error"]["message"]
    assert html.escape(message, quote=False) in text or html.escape(message) in text
    assert "Traceback" not in text and "{\"error\"" not in text


def test_under_api_a_browser_still_gets_json(client, engine):
    world = _world(engine)
    _assert_error(client.get("/api/v1/nowhere", headers={"Accept": BROWSER}), 404, ErrorCode.NOT_FOUND)
    missing = client.get("/api/v1/documents/999999", headers={**world.headers("clerk"), "Accept": BROWSER})
    _assert_error(missing, 404, ErrorCode.NOT_FOUND)
    _assert_error(client.get("/api/v1/agencies", headers={"Accept": BROWSER}), 401, ErrorCode.UNAUTHORIZED)
    refused = client.get("/api/v1/audit", headers={**auth(world.token("clerk")), "Accept": BROWSER})
    _assert_error(refused, 403, ErrorCode.FORBIDDEN)


def test_405_keeps_its_allow_header_in_json_and_in_html(app):
    @app.get("/_page")
    def _page() -> str:
        return "trang"

    client = app.test_client()
    api = client.delete("/api/v1/openapi.json", headers={"Accept": BROWSER})
    _assert_error(api, 405, ErrorCode.METHOD_NOT_ALLOWED)
    assert "GET" in api.headers["Allow"]
    page = client.post("/_page", headers={"Accept": BROWSER})
    assert page.status_code == 405 and page.mimetype == "text/html"
    assert "GET" in page.headers["Allow"]


def test_an_unexpected_failure_on_a_page_shows_no_traceback(app):
    @app.get("/_boom")
    def _boom() -> str:
        raise RuntimeError("bí mật /etc/passwd")

    client = app.test_client()
    page = client.get("/_boom", headers={"Accept": BROWSER})
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "bí mật" not in page.get_data(as_text=True) and "Traceback" not in page.get_data(as_text=True)
    _assert_error(client.get("/_boom"), 500, ErrorCode.INTERNAL_ERROR)
