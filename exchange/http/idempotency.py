"""``@idempotent``: an endpoint that creates something honours the ``Idempotency-Key`` header
(``exchange.services.idempotency`` says what that promises). Put it right under
``@caller_required`` (it needs the caller; it runs before the body is validated, and a
refusal gives the key back):

    @bp.post("/documents/<int:document_id>/register")
    @caller_required(Role.CLERK)
    @idempotent
    @bp.input(RegisterIn, arg_name="body")
    …

Without the header the endpoint behaves as before. A replayed answer carries
``Idempotent-Replayed: true``.
"""
from __future__ import annotations

import functools
import hashlib
from typing import IO, Any, Callable, TypeVar, cast

from flask import Response, current_app, request

from exchange.http.auth import current_caller, services
from exchange.services import idempotency
from exchange.services.dispatch import check_key
from exchange.services.input_rules import HostileJSON, strict_json_loads
from storage.blobs import staged_ref

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Content-Type", "Location")  # what a replay repeats besides status and body


def request_fingerprint() -> str:
    """The SHA-256 of what the request asks, independent of how the client encoded it: the
    query, and the JSON body's value or the multipart fields and files' contents (a client
    library draws a new multipart boundary for every retry)."""
    digest = hashlib.sha256()
    digest.update(request.query_string + b"\0")
    if request.mimetype == "multipart/form-data":
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(f"form\0{name}\0{value}\0".encode("utf-8", "surrogatepass"))
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            digest.update(f"file\0{name}\0{upload.filename or ''}\0".encode("utf-8", "surrogatepass"))
            digest.update(bytes.fromhex(_content_sha256(upload.stream)))
    else:
        raw = request.get_data(cache=True)
        try:  # the value, not its spelling: key order and spaces do not make another request
            raw = repr(_canonical(strict_json_loads(raw))).encode() if request.is_json and raw.strip() else raw
        except HostileJSON:
            pass  # the endpoint refuses it
        digest.update(raw)
    return digest.hexdigest()


def _content_sha256(stream: IO[bytes]) -> str:
    """A file part's SHA-256: the one computed as it was written when it was staged for the
    blob store (no second pass over the bytes), else read here."""
    staged = staged_ref(stream)
    if staged is not None:
        return staged.sha256
    content = hashlib.sha256()
    for chunk in iter(functools.partial(stream.read, 1 << 20), b""):
        content.update(chunk)
    stream.seek(0)  # the endpoint reads it next
    return content.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((key, _canonical(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def _replay(answer: idempotency.Answer) -> Response:
    response = current_app.response_class(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response


def idempotent(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw_key = request.headers.get(HEADER)
        if raw_key is None:
            return view(*args, **kwargs)
        svc, key = services(), check_key(raw_key)
        outcome = idempotency.claim(svc, current_caller(), f"{request.method} {request.path}", key,
                                    request_fingerprint())
        if isinstance(outcome, idempotency.Answer):
            return _replay(outcome)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            idempotency.release(svc, outcome)
            raise
        if 200 <= response.status_code < 300 and not response.is_streamed:
            idempotency.store(svc, outcome, response.status_code, response.get_data(as_text=True),
                              {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers})
        else:
            idempotency.release(svc, outcome)
        return response

    spec = dict(getattr(wrapper, "_spec", {}))
    responses = spec.get("responses")
    if isinstance(responses, dict):
        spec["responses"] = {409: "Idempotency-Key reused with another body, or its first request still running",
                             **responses}
    spec["description"] = (spec.get("description", "") + "\n\nOptional `Idempotency-Key` header (1–200 printable "
                           "characters): a retry with the same key and body gets the first answer "
                           "(`Idempotent-Replayed: true`); another body → 409 `idempotency_key_reused`.").strip()
    wrapper._spec = spec  # type: ignore[attr-defined]  # APIFlask reads a view's OpenAPI from _spec
    return cast(F, wrapper)
