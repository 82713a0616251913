"""The agency seal on a document's attachments (phụ lục), Decree 30/2020 Phụ lục I.

A PDF attachment gets a PAdES signature by the seal credential whose stamp sits at the top
right of its first page: text only (no seal image), the number and notation of the document
it belongs to and the signing time, in blue. Any other file gets a detached CMS signature
(``.p7s``, RFC 5652) by the same credential, carrying its certificate chain and the signing
time (and an RFC 3161 timestamp when a TSA is given): the file itself is never changed.

Unlike the main document's seal (``signing.sign``), an attachment carries no person
signature, so the seal rule "over a person signature of the same agency" does not apply.
"""
from __future__ import annotations

import textwrap
from datetime import datetime
from typing import IO

from asn1crypto import cms
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

from certs.credentials import SigningCredential
from errors import ErrorCode, Unprocessable
from signing import stamps
from signing.report import FAILED, INDETERMINATE, PASSED, Indication, Revocation, SignatureResult, Signer
from signing.sign import (Level, SignResult, _media_box, check_options, new_field_name, open_document, page_refs,
                          refuse_if_locked, run_sync, sign_in_session, signing_failure)
from translations import _l

STAMP_SIZE = (220.0, 62.0)  # points: up to two lines of agency name, the number, the time
STAMP_MARGIN = (35.0, 20.0)  # from the right and top edges of the page
REASON = "Ký số phụ lục của cơ quan, tổ chức"


def vietnam_time(when: datetime) -> str:
    """ISO 8601 with the +07:00 offset, as the stamps show it: ``2026-12-02T13:14:05+07:00``."""
    return when.astimezone(stamps.VN_TZ).replace(microsecond=0).isoformat()


def reference_line(number: str | int | None, notation: str | None) -> str:
    """``Số: 12/UBND-VP`` from the document's number and notation (either may be missing)."""
    joined = "/".join(str(part) for part in (number, notation) if part not in (None, ""))
    return f"Số: {joined}" if joined else ""


def attachment_style(agency_name: str, reference: str) -> TextStampStyle:
    """Blue text in the embedded Vietnamese font; ``%`` in names is literal, not a parameter."""
    lines = textwrap.wrap(agency_name, 40)[:2] + ([reference] if reference else []) + ["%(time)s"]
    text = "\n".join(line if line == "%(time)s" else line.replace("%", "%%") for line in lines)
    return TextStampStyle(
        stamp_text=text,
        text_box_style=TextBoxStyle(font=stamps.font_factory(), font_size=10, leading=12, text_color=stamps.BLUE),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MAX, y_align=layout.AxisAlignment.ALIGN_MAX),
        border_width=0,
    )


def first_page_top_right(media_box: stamps.Box) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = media_box
    w, h = STAMP_SIZE
    right, top = x2 - STAMP_MARGIN[0], y2 - STAMP_MARGIN[1]
    return (int(round(max(x1, right - w))), int(round(max(y1, top - h))), int(round(right)), int(round(top)))


def check_sealable(pdf_stream: IO[bytes]) -> None:
    """422 unless the seal can later sign this PDF: it opens, is not encrypted or locked
    (DocMDP: no changes), and has a page. Checked at upload, so sealing cannot fail on it."""
    writer = open_document(pdf_stream)
    refuse_if_locked(writer.prev)
    if not page_refs(writer.prev):
        raise Unprocessable(_l("the PDF has no pages"), code=ErrorCode.PDF_DAMAGED)
    pdf_stream.seek(0)


async def async_seal_pdf(pdf_stream: IO[bytes], credential: SigningCredential, *, reference: str,
                         level: Level = "B-LT", timestamper: TimeStamper | None = None,
                         validation_context: ValidationContext | None = None,
                         output: IO[bytes] | None = None) -> SignResult:
    """The seal's PAdES signature on a PDF attachment, as an incremental update."""
    check_options("seal", level, timestamper, validation_context)
    if credential.kind != "seal":
        raise Unprocessable(_l("credential does not match the profile"),
                            fields={"profile": _l("credential is for '%(kind)s'", kind=credential.kind)})
    writer = open_document(pdf_stream)
    refuse_if_locked(writer.prev)
    name = new_field_name(writer.prev, "seal")
    lt = level in ("B-LT", "B-LTA")
    meta = signers.PdfSignatureMetadata(
        field_name=name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES, reason=REASON,
        name=credential.organization or credential.display_name or None,
        embed_validation_info=lt, use_pades_lta=level == "B-LTA", validation_context=validation_context if lt else None,
        signer_key_usage={"digital_signature"})
    first_page = _media_box(writer.prev, page_refs(writer.prev)[0])
    pdf_signer = signers.PdfSigner(
        meta, credential.signer, timestamper=timestamper if level != "B-B" else None,
        stamp_style=attachment_style(credential.organization or credential.display_name, reference),
        new_field_spec=fields.SigFieldSpec(name, on_page=0, box=first_page_top_right(first_page)))
    # the stamp says Vietnam time (left to itself, pyHanko would show the server's local zone)
    when = datetime.now(stamps.VN_TZ).replace(microsecond=0)
    return await sign_in_session(writer, pdf_signer, field_name=name, level=level, when=when,
                                 text_params={"time": vietnam_time(when)}, validation_context=validation_context,
                                 output=output)


def seal_pdf(pdf_stream: IO[bytes], credential: SigningCredential, *, reference: str, level: Level = "B-LT",
             timestamper: TimeStamper | None = None, validation_context: ValidationContext | None = None,
             output: IO[bytes] | None = None) -> SignResult:
    """Synchronous :func:`async_seal_pdf`."""
    return run_sync(async_seal_pdf(pdf_stream, credential, reference=reference, level=level, timestamper=timestamper,
                                   validation_context=validation_context, output=output))


# --- detached CMS (.p7s) ------------------------------------------------------------------

async def async_sign_detached(data: IO[bytes], credential: SigningCredential, *,
                              timestamper: TimeStamper | None = None) -> bytes:
    """A detached CMS SignedData (DER) over ``data`` by the seal: signing-time attribute, the
    certificate and its chain, and a signature timestamp token when ``timestamper`` is given."""
    if credential.kind != "seal":
        raise Unprocessable(_l("credential does not match the profile"),
                            fields={"profile": _l("credential is for '%(kind)s'", kind=credential.kind)})
    when = datetime.now(stamps.VN_TZ).replace(microsecond=0)
    try:
        signed = await credential.signer.async_sign_general_data(
            data, "sha256", detached=True, timestamper=timestamper,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=when))
    except (SigningError, OSError) as exc:
        raise signing_failure(exc) from exc
    return bytes(signed.dump())


def sign_detached(data: IO[bytes], credential: SigningCredential, *, timestamper: TimeStamper | None = None) -> bytes:
    """Synchronous :func:`async_sign_detached`."""
    return run_sync(async_sign_detached(data, credential, timestamper=timestamper))


def verify_detached(data: IO[bytes], signature_der: bytes, validation_context: ValidationContext) -> SignatureResult:
    """Check a detached CMS signature against ``data``; never raises for a bad signature file."""
    try:
        content = cms.ContentInfo.load(signature_der)
        signed_data = content["content"]
        if content["content_type"].native != "signed_data":
            raise ValueError("not a CMS SignedData")
        status = run_sync(async_validate_detached_cms(data, signed_data,
                                                      signer_validation_context=validation_context))
    except Exception as exc:  # noqa: BLE001 - a damaged .p7s is a FAILED result, never a 500
        return SignatureResult(field=None, indication=FAILED, sub_indication="FORMAT_FAILURE", kind="detached_cms",
                               reasons=(type(exc).__name__,))
    cert = status.signing_cert
    subject = cert.subject.native if cert is not None else {}
    signer = Signer(name=subject.get("common_name"), organization=subject.get("organization_name"),
                    serial=format(cert.serial_number, "x") if cert is not None else None,
                    issuer=cert.issuer.native.get("common_name") if cert is not None else None)
    indication: Indication
    if not status.intact:
        indication, sub = FAILED, "HASH_FAILURE"
    elif not status.valid:
        indication, sub = FAILED, "SIG_CRYPTO_FAILURE"
    elif status.revoked:
        indication, sub = FAILED, "REVOKED"
    elif not status.trusted:
        indication, sub = INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND"
    else:
        indication, sub = PASSED, None
    revocation = Revocation(status="revoked" if status.revoked else ("good" if status.trusted else "unknown"),
                            source="fetched" if status.trusted else "none")
    return SignatureResult(field=None, indication=indication, sub_indication=sub, kind="detached_cms", signer=signer,
                           intact=bool(status.intact), valid=bool(status.valid), trusted=bool(status.trusted),
                           coverage="entire_file" if status.intact else "unknown", modification="none",
                           signing_time=status.signer_reported_dt, revocation=revocation)
