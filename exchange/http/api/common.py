"""What several API areas share: the document's shape, the fast query loader, the answer
headers of a PDF."""
from __future__ import annotations

import base64
import functools
import logging
from typing import Any, Callable, Iterator

from apiflask import APIBlueprint, Schema
from apiflask.fields import List, Nested
from apiflask.validators import Range
from flask import Response, request
from marshmallow import EXCLUDE, ValidationError
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from exchange.http.errors import invalid_input
from exchange.services.documents import Content
from exchange.services.input_rules import Integer, String

log = logging.getLogger(__name__)


class RevisionOut(Schema):
    seq = Integer()
    sha256 = String()
    size = Integer()
    kind = String(metadata={"description": "`original` (the upload), `signed` (a signature), `validation_data` "
                                           "(revocation data added before dispatch, no new signature)"})
    profile = String(allow_none=True)
    level = String(allow_none=True)
    created_at = String(metadata={"description": "RFC 3339, UTC"})
    content_url = String()


class AttachmentSealOut(Schema):
    sha256 = String()
    size = Integer()
    sealed_at = String(allow_none=True, metadata={"description": "RFC 3339, UTC"})
    url = String(metadata={"description": "the .p7s (detached signatures only)"})


class AttachmentOut(Schema):
    id = Integer()
    name = String(metadata={"description": "the file name as uploaded (Unicode NFC, no folder)"})
    sha256 = String(metadata={"description": "SHA-256 of the file as uploaded"})
    size = Integer()
    content_type = String()
    created_at = String(allow_none=True, metadata={"description": "RFC 3339, UTC"})
    content_url = String(metadata={"description": "the file: a PDF's sealed copy once sealed"})
    sealed = Nested(AttachmentSealOut, allow_none=True,
                    metadata={"description": "a PDF's copy carrying the agency seal (set at sealing)"})
    signature = Nested(AttachmentSealOut, allow_none=True,
                       metadata={"description": "another file's detached CMS signature by the seal (.p7s)"})


class DocumentOut(Schema):
    id = Integer()
    issuer = String(metadata={"description": "issuer agency code"})
    number = String()
    notation = String()
    doc_type = String()
    subject = String()
    urgency = String()
    confidentiality = String()
    issued_on = String(allow_none=True)
    place = String()
    signer_name = String()
    signer_position = String()
    due_on = String(allow_none=True)
    reply_to = Integer(allow_none=True)
    replaces = Integer(allow_none=True, metadata={"description": "the document this one replaces (edXML "
                                                                 "BussinessDocType 3)"})
    replaced_by = Integer(allow_none=True, metadata={"description": "the dispatched document that replaces "
                                                                    "this one"})
    state = String()
    sha256 = String(metadata={"description": "SHA-256 of the latest revision"})
    created_at = String(metadata={"description": "RFC 3339, UTC"})
    revisions = List(Nested(RevisionOut))
    attachments = List(Nested(AttachmentOut))


class ContentQuery(Schema):
    revision = Integer(validate=Range(min=1))


def query_input(bp: APIBlueprint, schema_cls: type[Schema], arg_name: str = "query") -> Callable[[Any], Any]:
    """Like ``@bp.input(schema, location="query")`` (same OpenAPI description, same 422), but
    loads ``request.args`` with the schema directly: webargs' machinery costs more than an
    empty inbox poll itself, the endpoint agencies call most."""
    schema = schema_cls()

    def decorate(view: Any) -> Any:
        described = bp.input(schema_cls, location="query", arg_name=arg_name)(view)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                kwargs[arg_name] = schema.load(request.args.to_dict(), unknown=EXCLUDE)
            except ValidationError as exc:
                raise invalid_input({"query": exc.messages}) from None
            return view(*args, **kwargs)

        wrapper._spec = described._spec  # type: ignore[attr-defined]  # APIFlask reads a view's OpenAPI from _spec
        return wrapper

    return decorate


def blob_response(content: Content, mimetype: str, disposition: str,
                  headers: dict[str, str] | None = None) -> Response:
    """Stream a stored, hash-checked file: ``Content-Length``, a strong ETag (its SHA-256; 304
    when the client has it), ``Repr-Digest`` (RFC 9530) and ``Digest``; one ``Range`` answers
    206 (416 when unsatisfiable). The blob is opened (and fails: 503) before the status line
    is sent; ``content.on_delivered`` runs once the file's last byte was handed over."""
    identity = content_headers(content.sha256)
    if content.sha256 in request.if_none_match:
        return Response(status=304, headers=identity)
    start, stop = 0, content.size
    span = requested_span(content.sha256, content.size)
    if span is not None:
        start, stop = span
        identity["Content-Range"] = f"bytes {start}-{stop - 1}/{content.size}"
    chunks = content.chunks(start, stop)
    first = next(chunks, b"")
    on_delivered = content.on_delivered if stop == content.size else None
    response = Response(_body(first, chunks, on_delivered), status=206 if span else 200,
                        mimetype=mimetype)  # the body needs no request context
    response.headers.update({**identity, "Content-Length": str(stop - start), "Content-Disposition": disposition,
                             "Cache-Control": "private, max-age=0", **(headers or {})})
    return response


def content_headers(sha256: str) -> dict[str, str]:
    """What identifies the whole file, on 200, 206 and 304 alike."""
    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
    return {"ETag": f'"{sha256}"', "Repr-Digest": f"sha-256=:{digest}:", "Digest": f"sha-256={digest}",
            "Accept-Ranges": "bytes"}


def requested_span(etag: str, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, as (start, stop); None for the whole file (no Range, an
    If-Range naming another version, several ranges: the whole file answers those)."""
    wanted = request.range
    if wanted is None or wanted.units != "bytes":
        return None
    if_range = request.if_range
    if (if_range.etag is not None and if_range.etag != etag) or if_range.date is not None:
        return None  # another version (or a date, which a content-addressed file cannot match)
    if len(wanted.ranges) != 1:
        return None
    span = wanted.range_for_length(size)
    if span is None:
        raise RequestedRangeNotSatisfiable(length=size)
    return span


def _body(first: bytes, rest: Iterator[bytes], on_delivered: Callable[[], object] | None) -> Iterator[bytes]:
    """The response body; ``on_delivered`` runs once the last chunk was handed to the server
    (a client that went away first closes the generator at a ``yield``: nothing recorded).
    The file was sent whole by then: a record that fails (the database overloaded) is logged
    and left for the next download, and the response still ends cleanly (raising here made
    the server drop the keep-alive connection under the client's next request)."""
    if first:
        yield first
    yield from rest
    if on_delivered is not None:
        try:
            on_delivered()
        except Exception as exc:  # noqa: BLE001 - see above; the next whole download records it
            log.warning("a download was sent whole but not recorded as fetched: %s",
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


# Any: in @bp.doc(responses=...) these sit beside plain descriptions, a mix APIFlask handles
# but its ResponsesType cannot express.
PDF_RESPONSE: Any
PDF_RESPONSE = {"description": "the PDF (ETag = its SHA-256)",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
