"""``/api/v1/documents/{id}/signatures`` and remote signing: signing stored documents."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Function, List, Nested
from apiflask.validators import Length, OneOf

from errors import Unprocessable
from exchange.domain.enums import Role, SigningLevel, SigningProfile, values
from exchange.http.api.common import DocumentOut
from exchange.http.auth import caller_required, current_caller, services
from exchange.http.errors import text
from exchange.http.idempotency import idempotent
from exchange.services import remote_signing, signatures
from exchange.services.input_rules import Integer, String
from signing.appearance import Appearance
from translations import _l

bp = APIBlueprint("api_signatures", __name__, url_prefix="/api/v1", tag="signatures")

PROFILES = values(SigningProfile)
LEVELS = values(SigningLevel)


class SignIn(Schema):
    profile = String(required=True, validate=OneOf(PROFILES),
                     metadata={"description": "`person` (role signer, the caller's own credential) or "
                                              "`seal` (role clerk, the agency's seal credential)"})
    level = String(load_default="B-LT", validate=OneOf(LEVELS), metadata={"description": "PAdES level"})
    credential_id = Integer(allow_none=True, metadata={"description": "one of the caller's own credentials; "
                                                                      "default: the newest valid one"})
    page = Integer(allow_none=True, metadata={"description": "1-based page of the stamp (negative: from the "
                                                             "end); needs `box`"})
    box = List(Integer(), allow_none=True, validate=Length(4, 4),
               metadata={"description": "[x1, y1, x2, y2] in PDF points from the lower-left corner, inside the "
                                        "page (else 422 `box_outside_page`); without it the person stamp goes "
                                        "to the letter's signing space when its text layer shows one"})



class PrepareIn(Schema):
    certificate = String(required=True, validate=Length(1, 64 * 1024),
                         metadata={"description": "the signer's certificate (PEM)"})
    profile = String(load_default="person", validate=OneOf(PROFILES))
    level = String(load_default="B-LT", validate=OneOf(LEVELS))
    page = Integer(allow_none=True)
    box = List(Integer(), allow_none=True, validate=Length(4, 4))


class PrepareOut(Schema):
    session_id = String()
    digest_algorithm = String(metadata={"description": "always sha256"})
    digest = String(metadata={"description": "base64 SHA-256 of the CMS signed attributes: sign this "
                                             "(RSA PKCS#1 v1.5 or ECDSA, pre-hashed)"})
    expires_at = String()
    field_name = String()
    placement = String(metadata={"description": "where the stamp will be: `signature_block` (the signing space "
                                                "between the signer's title and printed name on the last page), "
                                                "`default` (bottom right of the last page) or `box` (as given)"})


class CompleteIn(Schema):
    signature = String(required=True, validate=Length(1, 64 * 1024),
                       metadata={"description": "base64 raw signature over `digest`"})


class SignerOut(Schema):
    name = String(allow_none=True)
    organization = String(allow_none=True)
    serial = String(allow_none=True)
    username = String(allow_none=True)


class SignatureOut(Schema):
    seq = Integer(metadata={"description": "the revision this signature produced"})
    profile = String()
    level = String()
    credential_id = Integer(allow_none=True)
    sha256 = String()
    signer = Nested(SignerOut)
    signed_at = String()


class SignaturesOut(Schema):
    document_id = Integer()
    state = String()
    signatures = List(Nested(SignatureOut))


class NoticeOut(Schema):
    code = String(metadata={"description": "`signer_name_replaced`, `signer_position_replaced` (the typed value "
                                           "disagreed with the certificate), `signer_name_set`, "
                                           "`signer_position_set` (it was empty)"})
    field = String(metadata={"description": "the document field changed"})
    typed = String(metadata={"description": "what was typed at upload"})
    value = String(metadata={"description": "what the signature's certificate says, now the field's value"})
    message = Function(lambda notice: text(notice["message"]), metadata={"description": "for the clerk"})


class SignedOut(Schema):
    document = Nested(DocumentOut)
    revision = Nested(SignatureOut)
    signatures = List(Nested(SignatureOut))
    placement = String(metadata={"description": "how the new stamp was placed: `signature_block` (found between "
                                                "the signer's title and printed name on the last page), `default` "
                                                "(bottom right of the last page) or `box` (as given); a seal "
                                                "follows the person stamp"})
    notices = List(Nested(NoticeOut), metadata={"description": "what the clerk should know: the signer fields "
                                                               "taken from the person signature's certificate"})


def _appearance(body: dict[str, Any]) -> Appearance | None:
    # rules between fields, which the OpenAPI document cannot state: a placement refusal
    # (its own message), not the generic invalid input a field's own rule gives
    if body.get("page") is not None and body.get("box") is None:
        raise Unprocessable(_l("invalid stamp position"), fields={"box": _l("box is required when page is given")})
    if body.get("page") == 0:
        raise Unprocessable(_l("invalid stamp position"),
                            fields={"page": _l("pages are numbered from 1 (or -1 for the last)")})
    if body.get("box") is None:
        return None
    page = body.get("page") or -1
    try:
        x1, y1, x2, y2 = (float(v) for v in body["box"])  # four, as the schema says
        return Appearance(page=page - 1 if page > 0 else page, box=(x1, y1, x2, y2))
    except ValueError as exc:
        raise Unprocessable(_l("invalid stamp position"), fields={"box": str(exc)}) from None


_SIGN_ERRORS = {404: "another agency's document, or a credential that is not the caller's",
                409: "seal without a person signature of the agency, DocMDP-locked or already sealed document, "
                     "revoked/missing credential, the document changed meanwhile, or `already_signed`: the "
                     "same official signed it before",
                422: "invalid options, `box_outside_page`, or a PDF that cannot be signed",
                503: "the timestamp or revocation service is not answering"}


@bp.post("/documents/<int:document_id>/signatures")
@caller_required(Role.SIGNER, Role.CLERK)
@idempotent
@bp.input(SignIn, arg_name="body")
@bp.output(SignedOut, status_code=201)
@bp.doc(tags=["signatures"], summary="Ký số văn bản / sign a document on the server",
        description="`person`: role signer, with the caller's own credential; `seal`: role clerk, with the "
                    "agency's seal, only over an intact person signature of the same agency. Appends a "
                    "revision (incremental update): draft → signed (person) → sealed (seal).",
        responses=_SIGN_ERRORS)
def post_signature(document_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    signed = signatures.sign_document(services(), current_caller(), document_id, profile=body["profile"],
                                      level=body["level"], credential_id=body.get("credential_id"),
                                      appearance=_appearance(body))
    return signed, 201


@bp.get("/documents/<int:document_id>/signatures")
@caller_required(allow_agency_system=True)
@bp.output(SignaturesOut)
@bp.doc(tags=["signatures"], summary="Các chữ ký của văn bản / the document's signatures",
        description="One entry per signed revision the caller may read: profile, level, signer. For a "
                    "cryptographic check use `GET /api/v1/documents/{id}/verification`.")
def get_signatures(document_id: int) -> dict[str, Any]:
    return signatures.summary_for(services(), current_caller(), document_id)


@bp.post("/documents/<int:document_id>/signatures/prepare")
@caller_required(Role.SIGNER, Role.CLERK)
@bp.input(PrepareIn, arg_name="body")
@bp.output(PrepareOut, status_code=201)
@bp.doc(tags=["signatures"], summary="Ký từ xa, bước 1 / remote signing, step 1: the digest to sign",
        description="The certificate must chain to a trusted root and be the caller's (person: CN = the "
                    "caller's full name in the caller's agency; seal: the agency's). The session expires "
                    "after 15 minutes.",
        responses={404: "another agency's document", 409: "the document cannot take this signature",
                   422: "certificate invalid, untrusted, revoked or not the caller's"})
def post_prepare(document_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    prepared = remote_signing.prepare_remote(services(), current_caller(), document_id,
                                             certificate=body["certificate"], profile=body["profile"],
                                             level=body["level"], appearance=_appearance(body))
    return prepared, 201


@bp.post("/signing-sessions/<string:session_id>/complete")
@caller_required(Role.SIGNER, Role.CLERK)
@bp.input(CompleteIn, arg_name="body")
@bp.output(SignedOut, status_code=201)
@bp.doc(tags=["signatures"], summary="Ký từ xa, bước 2 / remote signing, step 2: embed the signature",
        responses={404: "no such session, or another user's", 409: "already completed, or the document changed",
                   410: "the session has expired", 422: "the signature does not verify against the certificate"})
def post_complete(session_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    return remote_signing.complete_remote(services(), current_caller(), session_id, signature=body["signature"]), 201
