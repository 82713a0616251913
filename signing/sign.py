"""PAdES signing (B-B, B-T, B-LT, B-LTA) with Decree 30 profiles, each signature an incremental update.

``sign`` takes the timestamper and the validation context as parameters so that the same
code runs against the service's in-process CA/TSA (``certs.responders``) or a test PKI.
Rules enforced before anything is written: a DocMDP P=1 document takes no further
signature; an agency seal needs an intact person signature of the same agency already on
the document. At B-LT and B-LTA, revocation data of earlier signatures that lack it (a person
signed at B-T) is added in the same update, so every signature stays validatable offline
(PYHANKO-NOTES, pitfall 7).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import shutil
import sys
import tempfile
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Coroutine, Literal, TypeVar

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import read_certification_data
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import InsufficientRevinfoError, RevokedError

from certs.credentials import SigningCredential
from errors import ErrorCode, ServiceError, Unprocessable
from signing import prescan, stamps
from signing.errors import DocumentLocked, RevocationUnavailable, SealRefused, SigningFailed, TimestampUnavailable
from signing.rules import ORG_ID, is_person_certificate, same_agency, subject_attributes
from signing.signature_block import SignerText, find_signing_space
from signing.appearance import Appearance
from translations import _l

log = logging.getLogger(__name__)

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
Profile = Literal["person", "seal"]
Placement = Literal["signature_block", "default", "box"]  # how the stamp's place was chosen
LEVELS: tuple[str, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
PROFILES: tuple[str, ...] = ("person", "seal")
REASONS = {"person": "Ký duyệt văn bản", "seal": "Ký số của cơ quan, tổ chức"}
T = TypeVar("T")


@dataclass(frozen=True)
class SignResult:
    output: IO[bytes]
    field_name: str
    level: str
    signing_time: datetime
    sha256: str
    size: int
    placement: Placement = "default"

    def data(self) -> bytes:
        """The signed PDF as bytes (reads the whole output: avoid on big files)."""
        self.output.seek(0)
        return self.output.read()


@dataclass(frozen=True)
class Identity:
    """What a stamp shows and what the seal rule compares: taken from a credential or a certificate."""
    display_name: str
    position: str
    organization: str
    agency_code: str
    image_png: bytes | None = None

    @classmethod
    def of(cls, credential: SigningCredential) -> "Identity":
        return cls(credential.display_name, credential.position, credential.organization,
                   credential.agency_code, credential.image_png)

    @classmethod
    def from_certificate(cls, cert: asn1_x509.Certificate, image_png: bytes | None = None) -> "Identity":
        s = subject_attributes(cert)
        return cls(s.get("common_name", ""), s.get("title", ""), s.get("organization_name", ""),
                   s.get(ORG_ID, ""), image_png)


# --------------------------------------------------------------------------- document checks
SPOOL_IN_MEMORY = 8 * 1024 * 1024


def seekable(pdf_stream: IO[bytes]) -> IO[bytes]:
    """pyHanko seeks around the input: spool a forward-only stream (an upload, a socket) first."""
    try:
        if pdf_stream.seekable():
            return pdf_stream
    except (AttributeError, ValueError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    shutil.copyfileobj(pdf_stream, spool, 1 << 20)
    spool.seek(0)
    return spool


def open_document(pdf_stream: IO[bytes]) -> IncrementalPdfFileWriter:
    """An incremental writer over the input; non-strict so Office's hybrid-xref files load."""
    pdf_stream = seekable(pdf_stream)
    try:
        prescan.check_stream(pdf_stream)  # before pyHanko believes what the file declares
    except prescan.StructureRefused as exc:
        raise prescan.refusal(exc) from None
    try:
        writer = IncrementalPdfFileWriter(pdf_stream, strict=False)
        encrypted = writer.prev.encrypted
        writer.prev.root["/Pages"]  # noqa: B018 - fail here, not mid-signing, on a broken catalog
    except Unprocessable:
        raise
    except Exception as exc:  # pyHanko raises many types for broken input
        raise Unprocessable(_l("the file is not a valid PDF"),
                            code=ErrorCode.PDF_DAMAGED) from exc
    if encrypted:
        raise Unprocessable(_l("encrypted PDFs cannot be signed"),
                            code=ErrorCode.PDF_ENCRYPTED)
    return writer


def refuse_if_locked(reader: PdfFileReader) -> None:
    info = read_certification_data(reader)
    if info is not None and info.permission == fields.MDPPerm.NO_CHANGES:
        raise DocumentLocked(_l("the document is certified with no changes allowed"))


def signature_is_intact(sig: EmbeddedPdfSignature) -> bool:
    """Byte-range digest matches and the signature over it verifies (no trust decision)."""
    try:
        intact, valid = validate_sig_integrity(sig.signer_info, sig.signer_cert, expected_content_type="data",
                                               actual_digest=sig.compute_digest())
    except Exception:  # a mangled signature is simply not intact
        return False
    return bool(intact and valid)


def find_agency_person_signature(signatures: list[EmbeddedPdfSignature], identity: Identity) -> EmbeddedPdfSignature:
    """The latest intact person signature of the seal's agency, or :class:`SealRefused`."""
    others = False
    for sig in reversed(signatures):
        try:
            cert = sig.signer_cert
        except Exception:
            continue
        if not is_person_certificate(cert):
            continue
        if not same_agency(cert, identity.agency_code, identity.organization):
            others = True
            continue
        if signature_is_intact(sig):
            return sig
    detail = (_l("the person signature belongs to another agency")
              if others else
              _l("the document has no intact person signature"))
    raise SealRefused(_l("the agency cannot seal yet: %(detail)s", detail=detail))


# --------------------------------------------------------------------------- placement
def page_refs(reader: PdfFileReader) -> list[generic.Reference]:
    refs: list[generic.Reference] = []

    def walk(node_ref: generic.IndirectObject, depth: int) -> None:
        node = node_ref.get_object()
        if depth > 64:
            raise Unprocessable(_l("page tree too deep"), code=ErrorCode.PDF_DAMAGED)
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node["/Kids"]:
                walk(kid, depth + 1)
        else:
            refs.append(node_ref.reference)

    walk(reader.root.raw_get("/Pages"), 0)
    return refs


def _media_box(reader: PdfFileReader, ref: generic.Reference) -> stamps.Box:
    node = reader.get_object(ref)
    while node is not None:
        if "/MediaBox" in node:
            x1, y1, x2, y2 = (float(v) for v in node["/MediaBox"])
            return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        node = node.get("/Parent")
    return (0.0, 0.0, 595.28, 841.89)


def _widget_placement(reader: PdfFileReader, sig: EmbeddedPdfSignature,
                      pages: list[generic.Reference]) -> tuple[int, stamps.Box] | None:
    field_dict = sig.sig_field
    widget = field_dict if "/Rect" in field_dict else (field_dict.get("/Kids") or [None])[0]
    if widget is None:
        return None
    widget = widget.get_object()
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    if abs(x2 - x1) < 1 or abs(y2 - y1) < 1:
        return None  # invisible signature
    page_ref = widget.raw_get("/P") if "/P" in widget else None
    index = None
    if isinstance(page_ref, generic.IndirectObject) and page_ref.reference in pages:
        index = pages.index(page_ref.reference)
    else:
        widget_ref = getattr(widget, "container_ref", None)
        for i, ref in enumerate(pages):
            annots = reader.get_object(ref).get("/Annots") or []
            if widget_ref is not None and any(getattr(a, "reference", None) == widget_ref for a in annots):
                index = i
                break
    if index is None:
        return None
    return index, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def stamp_image_aspect(sig: EmbeddedPdfSignature) -> float:
    """Width / height of the image in a person stamp's appearance (what :func:`stamps.person_style`
    drew), so the seal covers a third of the real image; the usual 3:1 when there is none."""
    try:
        field_dict = sig.sig_field
        widget = field_dict if "/AP" in field_dict else field_dict["/Kids"][0].get_object()
        for xobject in widget["/AP"]["/N"]["/Resources"]["/XObject"].values():
            image = xobject.get_object()
            if image.get("/Subtype") == "/Image" and float(image["/Height"]) > 0:
                return float(image["/Width"]) / float(image["/Height"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        pass
    return stamps.PERSON_IMAGE_ASPECT


def _inside(box: stamps.Box, media_box: stamps.Box) -> bool:
    tolerance = 0.5  # points: rounding of a box computed from the page's own numbers
    return (box[0] >= media_box[0] - tolerance and box[1] >= media_box[1] - tolerance
            and box[2] <= media_box[2] + tolerance and box[3] <= media_box[3] + tolerance)


def _person_signer_text(person_sig: EmbeddedPdfSignature, signer_text: SignerText | None) -> SignerText:
    """How the person whose signature the seal covers is printed: their certificate's title
    and name, and what the document's metadata says."""
    s = subject_attributes(person_sig.signer_cert)
    given = signer_text or SignerText((), ())
    return SignerText((s.get("title", ""), *given.positions), (s.get("common_name", ""), *given.names))


def placement(reader: PdfFileReader, profile: str, appearance: Appearance | None,
              person_sig: EmbeddedPdfSignature | None, signer_text: SignerText | None = None
              ) -> tuple[int, stamps.Box, Placement]:
    """(0-based page index, box, how) for the new stamp. Without a box, a person stamp goes
    to the signing space of the last page (between the signer's title and printed name) when
    the text layer shows one, else to the default box; a seal goes over the person stamp."""
    pages = page_refs(reader)
    if not pages:
        raise Unprocessable(_l("the PDF has no pages"), code=ErrorCode.PDF_DAMAGED)
    if appearance is not None:
        index = appearance.page if appearance.page >= 0 else len(pages) + appearance.page
        if not 0 <= index < len(pages):
            raise Unprocessable(_l("no such page"), fields={"page": _l("out of range")})
        media_box = _media_box(reader, pages[index])
        if not _inside(appearance.box, media_box):
            raise Unprocessable(_l("the stamp box is outside the page"), code=ErrorCode.BOX_OUTSIDE_PAGE,
                                fields={"box": _l("within the page: %(box)s",
                                                  box=", ".join(f"{v:g}" for v in media_box))})
        return index, appearance.box, "box"
    last = len(pages) - 1
    last_media = _media_box(reader, pages[last])
    if profile == "seal":
        found = _widget_placement(reader, person_sig, pages) if person_sig is not None else None
        if found is None:
            return last, stamps.seal_box(stamps.default_person_box(last_media), last_media), "default"
        index, person_box = found
        media_box = _media_box(reader, pages[index])
        assert person_sig is not None
        space = find_signing_space(reader.stream, index, media_box, _person_signer_text(person_sig, signer_text))
        centre = ((person_box[0] + person_box[2]) / 2, (person_box[1] + person_box[3]) / 2)
        in_block = space is not None and (space.box[0] <= centre[0] <= space.box[2]
                                          and space.box[1] <= centre[1] <= space.box[3])
        seal = stamps.seal_box(person_box, media_box, stamp_image_aspect(person_sig))
        return index, seal, "signature_block" if in_block else "default"
    if signer_text is not None:
        space = find_signing_space(reader.stream, last, last_media, signer_text)
        if space is not None:
            return last, space.box, "signature_block"
    return last, stamps.default_person_box(last_media), "default"


def new_field_name(reader: PdfFileReader, profile: str) -> str:
    taken = {name for name, _, _ in fields.enumerate_sig_fields(reader)}
    n = len(taken) + 1
    while f"{profile.capitalize()}{n}" in taken:
        n += 1
    return f"{profile.capitalize()}{n}"


# --------------------------------------------------------------------------- signing
def check_options(profile: str, level: str, timestamper: TimeStamper | None,
                  validation_context: ValidationContext | None, *, revocation_later: bool = False) -> None:
    """422 for unknown options; 503 when a service the level needs is not configured
    (``revocation_later``: remote prepare, whose revocation data comes at complete())."""
    problems = {}
    if profile not in PROFILES:
        problems["profile"] = _l("one of %(values)s", values=", ".join(PROFILES))
    if level not in LEVELS:
        problems["level"] = _l("one of %(values)s", values=", ".join(LEVELS))
    if problems:
        raise Unprocessable(_l("invalid signing options"), fields=problems)
    if level != "B-B" and timestamper is None:
        raise TimestampUnavailable(_l("no timestamp service configured"))
    if level in ("B-LT", "B-LTA") and validation_context is None and not revocation_later:
        raise RevocationUnavailable(_l("no revocation checking configured"))


def build_signer(writer: IncrementalPdfFileWriter, signer: signers.Signer, identity: Identity, *, profile: str,
                 level: str, appearance: Appearance | None, timestamper: TimeStamper | None,
                 validation_context: ValidationContext | None, signer_text: SignerText | None = None
                 ) -> tuple[signers.PdfSigner, str, Placement]:
    """Check the document rules and make the pyHanko ``PdfSigner`` for one signature.
    ``signer_text``: how the document prints the signer (beside the certificate's own title
    and name, always tried), to find the signing space."""
    reader = writer.prev
    refuse_if_locked(reader)
    existing = list(reader.embedded_regular_signatures)
    person_sig = find_agency_person_signature(existing, identity) if profile == "seal" else None
    if profile == "person":
        given = signer_text or SignerText((), ())
        signer_text = SignerText((identity.position, *given.positions), (identity.display_name, *given.names))
    page, box, how = placement(reader, profile, appearance, person_sig, signer_text)
    name = new_field_name(reader, profile)
    lt = level in ("B-LT", "B-LTA")
    meta = signers.PdfSignatureMetadata(
        field_name=name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=REASONS[profile], name=identity.display_name or None,
        embed_validation_info=lt, use_pades_lta=level == "B-LTA",
        validation_context=validation_context if lt else None,
        # our CA's person certificates carry nonRepudiation; a seal may only have digitalSignature
        signer_key_usage={"digital_signature"})
    style = (stamps.person_style(identity.image_png, identity.display_name) if profile == "person"
             else stamps.seal_style(identity.organization or identity.display_name, identity.image_png))
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    pdf_signer = signers.PdfSigner(
        meta, signer, timestamper=timestamper if level != "B-B" else None, stamp_style=style,
        new_field_spec=fields.SigFieldSpec(name, on_page=page, box=(x1, y1, x2, y2)))
    return pdf_signer, name, how


async def backfill_revocation(writer: IncrementalPdfFileWriter, validation_context: ValidationContext, *,
                              strict: bool = False) -> int:
    """Put revocation data of the earlier signatures into the DSS of this same update, so a
    B-LT/B-LTA seal leaves all of them validatable offline. Best effort: a signature we cannot validate
    (foreign CA, responder down) keeps what it has, unless ``strict`` (then it raises, as
    :func:`signing_failure` says). Returns how many signatures got data."""
    reader = writer.prev
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    added = 0
    for sig in reader.embedded_regular_signatures:
        contents = sig.pkcs7_content
        if dss is not None and DocumentSecurityStore.sig_content_identifier(contents) in dss.vri_entries:
            continue  # signed at B-LT or above: its revocation data is already there
        try:
            paths = await collect_validation_info(sig, validation_context)
        except Exception as exc:
            if strict:
                raise signing_failure(exc) from exc
            log.warning("no revocation data added for signature %s: %s", sig.field_name, type(exc).__name__)
            continue
        DocumentSecurityStore.supply_dss_in_writer(writer, contents.hex().encode("ascii"),
                                                   validation_context=validation_context, paths=paths)
        added += 1
    return added


async def async_add_validation_data(pdf_stream: IO[bytes], validation_context: ValidationContext,
                                    output: IO[bytes]) -> int:
    """Raise a B-B/B-T file to B-LT: one incremental update whose DSS holds the certificates,
    OCSP responses and CRLs of every signature (and signature timestamp) lacking them, so a
    recipient validates it offline. Nothing is written when every signature has its data;
    a signature whose data cannot be fetched raises (503, or 422 for a revoked certificate),
    nothing written. Returns how many signatures got data."""
    writer = open_document(pdf_stream)
    start = output.tell()
    try:
        added = await backfill_revocation(writer, validation_context, strict=True)
        if added:
            writer.write(output)
    except BaseException:
        rewind(output, start)
        raise
    return added


def add_validation_data(pdf_stream: IO[bytes], validation_context: ValidationContext, output: IO[bytes]) -> int:
    """Synchronous :func:`async_add_validation_data`."""
    return run_sync(async_add_validation_data(pdf_stream, validation_context, output))


def signing_failure(exc: Exception) -> ServiceError:
    """Translate pyHanko's errors: a revoked certificate is the caller's problem (422), an
    unreachable OCSP/CRL/TSA is ours (503)."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, RevokedError) for e in chain):
        return SigningFailed(_l("the signing certificate is revoked"),
                             code=ErrorCode.CERTIFICATE_REVOKED)
    if any(isinstance(e, InsufficientRevinfoError) for e in chain) or any(
            isinstance(e, (OSError, asyncio.TimeoutError)) for e in chain):
        return RevocationUnavailable(_l("revocation or timestamp service unavailable"))
    return SigningFailed(_l("signing failed: the certificate could not be validated (%(error)s)",
                            error=type(exc).__name__))


async def finish_result(result_output: IO[bytes], field_name: str, level: str, when: datetime,
                        placement: Placement = "default") -> SignResult:
    h = hashlib.sha256()
    result_output.seek(0)
    size = 0
    for chunk in iter(lambda: result_output.read(1 << 20), b""):
        h.update(chunk)
        size += len(chunk)
    result_output.seek(0)
    return SignResult(result_output, field_name, level, when, h.hexdigest(), size, placement)


async def async_sign(pdf_stream: IO[bytes], credential: SigningCredential, *, profile: Profile = "person",
                     level: Level = "B-LT", appearance: Appearance | None = None,
                     timestamper: TimeStamper | None = None, validation_context: ValidationContext | None = None,
                     output: IO[bytes] | None = None, signer_text: SignerText | None = None) -> SignResult:
    """Sign ``pdf_stream`` as an incremental update. ``output`` must be readable and writable
    (``w+b``) when given; otherwise the result is in memory. Nothing is written on refusal.
    ``signer_text``: the signer's title and name as the document's metadata gives them."""
    check_options(profile, level, timestamper, validation_context)
    if credential.kind != profile:
        raise Unprocessable(_l("credential does not match the profile"),
                            fields={"profile": _l("credential is for '%(kind)s'", kind=credential.kind)})
    writer = open_document(pdf_stream)
    identity = Identity.of(credential)
    pdf_signer, name, how = build_signer(writer, credential.signer, identity, profile=profile, level=level,
                                         appearance=appearance, timestamper=timestamper,
                                         validation_context=validation_context, signer_text=signer_text)
    when = datetime.now(stamps.VN_TZ).replace(microsecond=0)
    text_params = stamps.text_params(identity.display_name if profile == "person" else identity.organization, when)
    return await sign_in_session(writer, pdf_signer, field_name=name, level=level, when=when,
                                 text_params=text_params, validation_context=validation_context, output=output,
                                 placement=how)


async def sign_in_session(writer: IncrementalPdfFileWriter, pdf_signer: signers.PdfSigner, *, field_name: str,
                          level: str, when: datetime, text_params: dict[str, str],
                          validation_context: ValidationContext | None, output: IO[bytes] | None,
                          placement: Placement = "default") -> SignResult:
    """One pyHanko signing session at ``when`` (the CMS signing-time attribute and the stamp's
    text show the same time), written as an incremental update; on failure ``output`` is left
    as it was. At B-LT/B-LTA the earlier signatures' revocation data goes into the same update."""
    start = output.tell() if output is not None else 0
    try:
        if level in ("B-LT", "B-LTA") and validation_context is not None:
            await backfill_revocation(writer, validation_context)
        session = pdf_signer.init_signing_session(writer)
        session.system_time = when
        validation_info = await session.perform_presign_validation(writer)
        reserved = await reserved_size(session, validation_info)
        tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=reserved,
                                           appearance_text_params=text_params)
        digest, res_output = tbs.digest_tbs_document(output=output)
        post = await tbs.perform_signature(
            document_digest=digest.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=when,
                adobe_revinfo_attr=None if validation_info is None else validation_info.adobe_revinfo_attr))
        await post.post_signature_processing(res_output)
        final = misc.finalise_output(output, res_output)
    except (SigningError, OSError) as exc:  # OSError: a TSA/OCSP request failed (TimestampRequestError)
        rewind(output, start)
        raise signing_failure(exc) from exc
    except BaseException:
        rewind(output, start)
        raise
    return await finish_result(final, field_name, level, when, placement)


# What pyHanko's size estimate found, by what it depends on (see reserved_size); bounded.
_estimates: dict[tuple[Any, ...], tuple[int, int]] = {}
_ESTIMATES_MAX = 512


async def reserved_size(session: Any, validation_info: Any) -> int:
    """Bytes to reserve for the signature container: what
    ``session.estimate_signature_container_size(validation_info, tight=False)`` answers.

    pyHanko finds it by a dry run of the whole CMS (a dummy signature, a dummy time stamp,
    the revocation attribute): 15 ms of a 65 ms signature, the same every time for a signer.
    Its answer depends only on the signer's certificates and key, the digest, the PAdES
    switch, the signed attributes' options, the time stamper and the size of the revocation
    data. So the dry run's exact length is kept per signer, time stamper and options, and a
    later signature adds the difference in its revocation data's size; pyHanko's 50% margin
    (for a TSA whose answers vary) comes on top as before. Without a way to name the time
    stamper, pyHanko estimates every time."""
    key = _estimate_key(session, validation_info)
    revinfo = _revinfo_size(validation_info)
    known = _estimates.get(key) if key is not None else None
    if known is None:
        test_len = await session.estimate_signature_container_size(validation_info, tight=True)
        if key is not None:
            if len(_estimates) >= _ESTIMATES_MAX:
                _estimates.clear()
            _estimates[key] = (test_len, revinfo)
    else:
        test_len = known[0] + 2 * (revinfo - known[1])  # hex: two characters per byte
    return int(test_len + 2 * (test_len // 4))


def _estimate_key(session: Any, validation_info: Any) -> tuple[Any, ...] | None:
    pdf_signer = session.pdf_signer
    signer = pdf_signer.signer
    if signer.signing_cert is None:
        return None  # pyHanko says so itself
    timestamper = session.timestamper
    if timestamper is None:
        stamper: tuple[Any, ...] = ()
    elif getattr(timestamper, "tsa_cert", None) is not None:  # pyHanko's DummyTimeStamper, ours
        stamper = (type(timestamper).__qualname__, timestamper.tsa_cert.sha256)
    elif getattr(timestamper, "url", None):  # pyHanko's HTTPTimeStamper
        stamper = (type(timestamper).__qualname__, timestamper.url)
    else:
        return None
    if pdf_signer.signature_meta.cades_signed_attr_spec is not None or getattr(signer, "attribute_certs", None):
        return None  # signed attributes of the caller's choosing: not ours, not worth a key
    registry = getattr(signer, "cert_registry", None)
    embedded = tuple(sorted(c.sha256 for c in registry)) if registry is not None else ()
    mechanism = getattr(signer, "signature_mechanism", None)
    return (type(signer).__qualname__, signer.signing_cert.sha256, embedded,
            mechanism.dump() if mechanism is not None else None, session.md_algorithm, session.use_pades,
            validation_info is None, stamper)


def _revinfo_size(validation_info: Any) -> int:
    attr = getattr(validation_info, "adobe_revinfo_attr", None) if validation_info is not None else None
    return len(attr.dump()) if attr is not None else 0


def rewind(output: IO[bytes] | None, start: int) -> None:
    """Leave the caller's output as it was: nothing half-written."""
    if output is not None:
        try:
            output.seek(start)
            output.truncate()
        except (OSError, ValueError):
            log.warning("could not truncate the output after a failed signature")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code; inside a running event loop (pyHanko's sync API would
    raise there) it runs on a helper thread."""
    with _one_loop_per_green_worker():
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()


_green_lock: "threading.RLock | None" = None


def _one_loop_per_green_worker() -> AbstractContextManager[Any]:
    """Under gevent (gunicorn's recommended workers) every request of a worker is a greenlet
    on one OS thread, and asyncio keeps one running loop per OS thread: a signature starting
    while another one's loop waits (any greenlet switch inside it — the start-up warm-up's, a
    concurrent request's) found that loop "running" and failed with a 500. There, one loop
    at a time per worker (a cooperative lock: the other requests go on meanwhile); signing
    is CPU work and a worker is one core, so nothing is lost. Elsewhere, no lock."""
    global _green_lock
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return contextlib.nullcontext()
    if _green_lock is None:  # greenlets switch only on blocking calls: no race between test and set
        _green_lock = threading.RLock()  # patched: a greenlet lock
    return _green_lock


def sign(pdf_stream: IO[bytes], credential: SigningCredential, *, profile: Profile = "person",
         level: Level = "B-LT", appearance: Appearance | None = None, timestamper: TimeStamper | None = None,
         validation_context: ValidationContext | None = None, output: IO[bytes] | None = None,
         signer_text: SignerText | None = None) -> SignResult:
    """Synchronous :func:`async_sign`."""
    return run_sync(async_sign(pdf_stream, credential, profile=profile, level=level, appearance=appearance,
                               timestamper=timestamper, validation_context=validation_context, output=output,
                               signer_text=signer_text))
