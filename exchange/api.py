"""HTTP handlers of the exchange core: session, agencies, audit, documents.

Thin: each parses (APIFlask schemas), calls one service function in one unit of work, and
renders. Errors are typed (errors.py) and leave in one shape.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, current_app, request, session as web_session
from werkzeug.exceptions import RequestEntityTooLarge

from errors import ServiceUnavailable, UnsupportedMediaType, error_body
from exchange import agencies, audit, documents
from exchange.auth import caller_required, current_caller, login, raise_for, resolve_caller, start_web_session
from exchange.schemas import (AgencyList, AgencyQuery, AuditList, AuditQuery, ChainCheckOut, ContentQuery,
                              DocumentList, DocumentOut, DocumentQuery, LoginIn, SessionOut, UploadIn, VerifyIn)
from storage.blobs import read_bytes, store_from_app
from storage.db import engine_from_app, session_scope

bp = APIBlueprint("exchange", __name__, url_prefix="/api/v1", tag="exchange")


def _db(write: bool = False):  # type: ignore[no-untyped-def]
    return session_scope(engine_from_app(), write=write)


def _client_ip() -> str:
    # behind a proxy, ProxyFix (configured by the deployment) sets remote_addr
    return request.remote_addr or ""


# --- session ----------------------------------------------------------------------------

@bp.post("/session")
@bp.input(LoginIn, arg_name="body")
@bp.output(SessionOut)
@bp.doc(tags=["session"], summary="Đăng nhập / log in (web session cookie)", security=[],
        responses={401: "wrong username or password", 429: "too many failed attempts"})
def post_session(body: dict):  # type: ignore[no-untyped-def]
    with _db(write=True) as session:
        outcome = login(session, body["username"], body["password"], _client_ip())
    raise_for(outcome)  # after the commit: a failure's audit event is kept
    user = outcome.user
    start_web_session(user)  # type: ignore[arg-type]
    return {"username": user.username, "full_name": user.full_name,  # type: ignore[union-attr]
            "agency_code": outcome.agency_code, "roles": sorted(user.role_set)}  # type: ignore[union-attr]


@bp.delete("/session")
@bp.output({}, status_code=204)
@bp.doc(tags=["session"], summary="Đăng xuất / log out", security=[])
def delete_session():  # type: ignore[no-untyped-def]
    caller = resolve_caller() if "uid" in web_session else None
    if caller is not None and caller.token_id is None:  # a live web session ends: say so in the trail
        with _db(write=True) as session:
            audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="session.logout",
                         object=f"user:{caller.username}", details={"ip": _client_ip()})
    web_session.clear()
    return ""


# --- agencies ---------------------------------------------------------------------------

@bp.get("/agencies")
@caller_required(allow_agency_system=True)
@bp.input(AgencyQuery, location="query", arg_name="query")
@bp.output(AgencyList)
@bp.doc(tags=["agencies"], summary="Danh bạ cơ quan / the agency directory")
def get_agencies(query: dict):  # type: ignore[no-untyped-def]
    with _db() as session:
        rows = agencies.list_agencies(session, parent=query.get("parent"), after=query["after"],
                                      limit=query["limit"] + 1)
        more = len(rows) > query["limit"]
        rows = rows[: query["limit"]]
        items = agencies.agencies_json(session, rows)
    return {"items": items, "next_cursor": items[-1]["code"] if more and items else None}


# --- audit ------------------------------------------------------------------------------

@bp.get("/audit")
@caller_required("auditor", "admin")
@bp.input(AuditQuery, location="query", arg_name="query")
@bp.output(AuditList)
@bp.doc(tags=["audit"], summary="Nhật ký kiểm toán / the audit trail",
        description="Events of the caller's agency and of every agency below it, oldest first.")
def get_audit(query: dict):  # type: ignore[no-untyped-def]
    caller = current_caller()
    with _db() as session:
        codes = [caller.agency_code] + [a.code for a in agencies.descendants(session, caller.agency_code)]
        rows = audit.list_events(session, agency_codes=codes, after=query["after"], limit=query["limit"] + 1)
        more = len(rows) > query["limit"]
        items = [audit.event_json(e) for e in rows[: query["limit"]]]
    return {"items": items, "next_cursor": items[-1]["seq"] if more and items else None}


@bp.get("/audit/verify")
@caller_required("auditor", "admin")
@bp.output(ChainCheckOut)
@bp.doc(tags=["audit"], summary="Kiểm tra chuỗi nhật ký / check the audit chain",
        description="Walks the whole chain; `first_broken` is the first event whose link, position or "
                    "content does not match.")
def get_audit_verify():  # type: ignore[no-untyped-def]
    with _db() as session:
        return audit.verify_chain(session).to_json()


# --- documents --------------------------------------------------------------------------

_PDF_RESPONSE = {"description": "the PDF (ETag = its SHA-256)",
                 "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


@bp.post("/documents")
@caller_required("clerk")
@bp.input(UploadIn, location="form_and_files", arg_name="form")
@bp.output(DocumentOut, status_code=201)
@bp.doc(tags=["documents"], summary="Tải lên văn bản / upload a document (PDF + metadata)",
        description="Multipart: `file` (PDF) and `metadata` (JSON object, see DocumentMetadataIn). "
                    "Not a PDF → 415; encrypted or truncated → 422; over LIENTHONG_MAX_UPLOAD_MB → 413; "
                    "secret confidentiality levels → 422.",
        responses={413: "file too large", 415: "not a PDF"})
def post_document(form: dict):  # type: ignore[no-untyped-def]
    caller = current_caller()
    metadata = documents.check_metadata_rules(form["metadata"])
    with _db() as session:  # refuse a bad reply-to before any byte is stored
        documents.check_reply_to(session, caller, metadata.get("reply_to"))
    ref = documents.store_file(store_from_app(), form["file"].stream)
    with _db(write=True) as session:
        document = documents.create_document(session, caller, ref, metadata)
        document, revisions = documents.readable(session, caller, document.id)  # type: ignore[arg-type]
        body = documents.document_json(session, document, revisions)
    return body, 201, {"Location": f"/api/v1/documents/{body['id']}"}


@bp.get("/documents")
@caller_required(allow_agency_system=True)
@bp.input(DocumentQuery, location="query", arg_name="query")
@bp.output(DocumentList)
@bp.doc(tags=["documents"], summary="Văn bản của cơ quan / the caller's agency's documents",
        description="Documents issued by the caller's agency, by id, after the cursor.")
def get_documents(query: dict):  # type: ignore[no-untyped-def]
    caller = current_caller()
    with _db() as session:
        rows = documents.list_documents(session, caller, state=query.get("state"), after=query["after"],
                                        limit=query["limit"] + 1)
        more = len(rows) > query["limit"]
        items = [documents.document_json(session, d, revs) for d, revs in rows[: query["limit"]]]
    return {"items": items, "next_cursor": items[-1]["id"] if more and items else None}


@bp.get("/documents/<int:document_id>")
@caller_required(allow_agency_system=True)
@bp.output(DocumentOut)
@bp.doc(tags=["documents"], summary="Một văn bản / one document: metadata, revisions, state",
        description="Another agency's document answers 404, like a missing one; a recipient sees "
                    "the revisions dispatched to it.")
def get_document(document_id: int):  # type: ignore[no-untyped-def]
    with _db() as session:
        document, revisions = documents.readable(session, current_caller(), document_id)
        return documents.document_json(session, document, revisions)


@bp.get("/documents/<int:document_id>/content")
@caller_required(allow_agency_system=True)
@bp.input(ContentQuery, location="query", arg_name="query")
@bp.doc(tags=["documents"], summary="Tệp PDF / the PDF of a revision (latest by default)",
        responses={200: _PDF_RESPONSE, 304: "not modified (If-None-Match)"})
def get_document_content(document_id: int, query: dict):  # type: ignore[no-untyped-def]
    caller = current_caller()
    with _db() as session:
        document, revisions = documents.readable(session, caller, document_id)
        revision = documents.pick_revision(revisions, query.get("revision"))
    if document.issuer_agency_id != caller.agency_id:
        documents.mark_fetched(engine_from_app(), caller, document_id)
    etag = revision.blob_sha256
    if etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    store = store_from_app()
    chunks = documents.iter_blob(store, etag)
    first = next(chunks, b"")  # open (and fail: 503) before the status line is sent
    response = Response(_chain(first, chunks), mimetype="application/pdf")  # needs no request context
    response.headers["Content-Length"] = str(revision.size)
    response.headers["ETag"] = f'"{etag}"'
    response.headers["Content-Disposition"] = f'inline; filename="document-{document_id}-r{revision.seq}.pdf"'
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


def _chain(first: bytes, rest):  # type: ignore[no-untyped-def]
    if first:
        yield first
    yield from rest


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):  # type: ignore[no-untyped-def]
    limit = current_app.extensions["lienthong.settings"].max_upload_mb
    return error_body("payload_too_large",
                      f"tệp lớn quá {limit} MB / the upload is larger than {limit} MB"), 413


# --- verification -----------------------------------------------------------------------

def _verification_response(data: bytes):  # type: ignore[no-untyped-def]
    """Verify with signing's verifier against the configured trust anchors; JSON, or the
    printable page when the client asks for HTML (``Accept: text/html`` or ``?format=html``)."""
    try:
        from certs.trust import trust_roots
        from signing.report import render_html
        from signing.verify import verify
    except ImportError:
        raise ServiceUnavailable("chức năng kiểm tra chữ ký chưa sẵn sàng / verification is not available",
                                 code="verification_unavailable") from None
    report = verify(data, trust_roots=trust_roots(current_app.extensions["lienthong.settings"]))
    wants_html = request.args.get("format") == "html" or (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
        and "application/json" not in request.accept_mimetypes.values())
    if wants_html:
        lang = request.args.get("lang") or request.accept_languages.best_match(["vi", "en"]) or "vi"
        return Response(render_html(report, lang), mimetype="text/html")
    return report.to_json()


_REPORT_RESPONSE = {"description": "verification report: JSON (`indication`, `signatures`, ...) or HTML",
                    "content": {"application/json": {"schema": {"type": "object"}},
                                "text/html": {"schema": {"type": "string"}}}}


@bp.post("/verify")
@caller_required(allow_agency_system=True)
@bp.input(VerifyIn, location="files", arg_name="form")
@bp.doc(tags=["verification"], summary="Kiểm tra chữ ký của một PDF bất kỳ / verify any PDF",
        description="Any signed-in user with a role, or an agency system, may verify a file: checking "
                    "an incoming document's signatures is part of every role's work. `?format=html` "
                    "or `Accept: text/html` gives the printable page (`lang=vi|en`).",
        responses={200: _REPORT_RESPONSE, 415: "not a PDF"})
def post_verify(form: dict):  # type: ignore[no-untyped-def]
    stream = form["file"].stream
    if b"%PDF-" not in stream.read(documents.HEADER_WINDOW):
        raise UnsupportedMediaType("tệp không phải PDF / the file is not a PDF", code="not_pdf",
                                   fields={"file": "cần tệp PDF / a PDF is required"})
    stream.seek(0)
    return _verification_response(stream.read())


@bp.get("/documents/<int:document_id>/verification")
@caller_required(allow_agency_system=True)
@bp.input(ContentQuery, location="query", arg_name="query")
@bp.doc(tags=["verification"], summary="Kiểm tra chữ ký của văn bản / verify a stored document",
        description="The latest revision the caller may read, or `?revision=N`.",
        responses={200: _REPORT_RESPONSE})
def get_document_verification(document_id: int, query: dict):  # type: ignore[no-untyped-def]
    with _db() as session:
        _document, revisions = documents.readable(session, current_caller(), document_id)
        revision = documents.pick_revision(revisions, query.get("revision"))
    return _verification_response(read_bytes(store_from_app(), revision.blob_sha256))
