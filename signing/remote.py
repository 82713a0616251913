"""Remote (two-step) signing for officials whose key stays on their own token.

``prepare`` does everything ``sign`` does up to the signature value: the same document
rules (DocMDP lock, seal rule), the stamp, the reserved /Contents, and the CMS signed
attributes. The client signs SHA-256 of those DER attributes (not the /ByteRange digest:
the attributes carry it as messageDigest). ``complete`` checks the raw signature against
the certificate before anything is produced, embeds it, then redoes B-LT/B-LTA from the
stored bytes: pyHanko's post-sign instructions do not survive serialisation (PYHANKO-NOTES §3).
Storing the state and the prepared PDF (kept apart: the state is small, the PDF is a file)
and deleting them after use or expiry is the caller's job.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfCMSSignedAttributes, PdfTBSDocument
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from errors import ErrorCode, Gone, Unprocessable
from signing import stamps
from signing.sign import (Identity, Level, Profile, SignResult, finish_result, backfill_revocation, build_signer,
                          check_options, open_document, rewind, run_sync, signing_failure)
from signing.signature_block import SignerText
from signing.appearance import Appearance
from translations import _l

DIGEST_ALGORITHM = "sha256"
SESSION_TTL = timedelta(minutes=15)
STATE_VERSION = 2  # 2: the prepared PDF travels beside the state, not inside it


@dataclass(frozen=True)
class PreparedSigning:
    session_state: bytes        # JSON, small (no secret), for the caller to store
    prepared_pdf: bytes         # the document with the reserved signature, for the caller to store
    digest_algorithm: str       # "sha256"
    digest: bytes               # what the client signs: SHA-256 of the DER signed attributes
    field_name: str
    expires_at: datetime
    placement: str = "default"  # how the stamp's place was chosen (signing.sign.Placement)


def load_certificate(certificate: asn1_x509.Certificate | bytes | str) -> asn1_x509.Certificate:
    """An asn1crypto certificate from itself, PEM (str or bytes) or DER; 422 on anything else."""
    if isinstance(certificate, asn1_x509.Certificate):
        return certificate
    data = certificate.encode("ascii", "replace") if isinstance(certificate, str) else bytes(certificate)
    try:
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        cert = asn1_x509.Certificate.load(data)
        cert.native  # noqa: B018 - parse everything now, not later
        return cert
    except Exception as exc:
        raise Unprocessable(_l("invalid certificate"), code=ErrorCode.CERTIFICATE_INVALID,
                            fields={"certificate": _l("not a PEM or DER X.509 certificate")}) from exc


def _signature_size(cert: asn1_x509.Certificate) -> int:
    key = cx509.load_der_x509_certificate(cert.dump()).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return (key.key_size + 7) // 8
    if isinstance(key, ec.EllipticCurvePublicKey):
        return 2 * ((key.curve.key_size + 7) // 8) + 9  # DER ECDSA-Sig-Value, worst case
    raise Unprocessable(_l("unsupported key type"), code=ErrorCode.CERTIFICATE_INVALID,
                        fields={"certificate": _l("RSA or EC")})


def verify_raw_signature(cert: asn1_x509.Certificate, signed_data: bytes, signature: bytes) -> bool:
    key = cx509.load_der_x509_certificate(cert.dump()).public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def async_prepare(pdf_stream: IO[bytes], certificate: asn1_x509.Certificate | bytes | str, *,
                        profile: Profile = "person", level: Level = "B-LT", appearance: Appearance | None = None,
                        chain: list[asn1_x509.Certificate] | tuple[asn1_x509.Certificate, ...] = (),
                        timestamper: TimeStamper | None = None, image_png: bytes | None = None,
                        ttl: timedelta = SESSION_TTL, signer_text: SignerText | None = None) -> PreparedSigning:
    """Step 1: prepare the revision and return the digest the client must sign."""
    check_options(profile, level, timestamper, None, revocation_later=True)
    cert = load_certificate(certificate)
    chain = [load_certificate(c) for c in chain]
    writer = open_document(pdf_stream)
    external = signers.ExternalSigner(signing_cert=cert, cert_registry=SimpleCertificateStore.from_certs(chain),
                                      signature_value=_signature_size(cert))
    # LT/LTA happen in complete(), from the finished bytes: prepare the plain B-T (or B-B) signature
    base_level = "B-B" if level == "B-B" else "B-T"
    pdf_signer, name, how = build_signer(writer, external, Identity.from_certificate(cert, image_png),
                                         profile=profile, level=base_level, appearance=appearance,
                                         timestamper=timestamper, validation_context=None, signer_text=signer_text)
    when = datetime.now(stamps.VN_TZ).replace(microsecond=0)
    identity = Identity.from_certificate(cert)
    try:
        session = pdf_signer.init_signing_session(writer)
        session.system_time = when
        reserved = await session.estimate_signature_container_size(None, tight=False)
        tbs = session.prepare_tbs_document(
            validation_info=None, bytes_reserved=reserved,
            appearance_text_params=stamps.text_params(
                identity.display_name if profile == "person" else identity.organization or identity.display_name,
                when))
        output = io.BytesIO()
        prepared, _ = tbs.digest_tbs_document(output=output)
        attrs = await external.signed_attrs(prepared.document_digest, DIGEST_ALGORITHM,
                                            attr_settings=PdfCMSSignedAttributes(signing_time=when), use_pades=True)
    except SigningError as exc:
        raise signing_failure(exc) from exc
    attrs_der = attrs.dump()
    expires = datetime.now(timezone.utc) + ttl
    state = {
        "v": STATE_VERSION, "level": level, "profile": profile, "field_name": name,
        "signing_time": when.isoformat(), "expires_at": expires.isoformat(),
        "certificate": _b64(cert.dump()), "chain": [_b64(c.dump()) for c in chain],
        "signed_attrs": _b64(attrs_der), "document_digest": _b64(prepared.document_digest),
        "reserved_region_start": prepared.reserved_region_start,
        "reserved_region_end": prepared.reserved_region_end,
        "pdf_sha256": hashlib.sha256(output.getvalue()).hexdigest(), "placement": how,
    }
    return PreparedSigning(json.dumps(state).encode("ascii"), output.getvalue(), DIGEST_ALGORITHM,
                           hashlib.sha256(attrs_der).digest(), name, expires, how)


def _load_state(state: bytes | str | dict[str, Any]) -> dict[str, Any]:
    try:
        data = state if isinstance(state, dict) else json.loads(state)
        if data.get("v") != STATE_VERSION:
            raise ValueError("version")
        return data
    except Exception as exc:
        raise Unprocessable(_l("invalid signing session"), code=ErrorCode.INVALID_SESSION) from exc


async def async_complete(state: bytes | str | dict[str, Any], raw_signature: bytes, *, prepared_pdf: bytes,
                         timestamper: TimeStamper | None = None,
                         validation_context: ValidationContext | None = None,
                         output: IO[bytes] | None = None) -> SignResult:
    """Step 2: check the client's signature, embed it in ``prepared_pdf`` (what prepare made),
    add LT/LTA. A wrong signature or a PDF other than the prepared one raises
    :class:`errors.Unprocessable`, an expired session :class:`errors.Gone`; nothing is produced."""
    s = _load_state(state)
    if hashlib.sha256(prepared_pdf).hexdigest() != s.get("pdf_sha256"):
        raise Unprocessable(_l("the prepared PDF does not belong to this signing session"),
                            code=ErrorCode.INVALID_SESSION)
    if datetime.now(timezone.utc) >= datetime.fromisoformat(s["expires_at"]):
        raise Gone(_l("the signing session has expired"))
    level = s["level"]
    check_options(s["profile"], level, timestamper, validation_context)
    cert = asn1_x509.Certificate.load(base64.b64decode(s["certificate"]))
    chain = [asn1_x509.Certificate.load(base64.b64decode(c)) for c in s["chain"]]
    attrs_der = base64.b64decode(s["signed_attrs"])
    if not isinstance(raw_signature, (bytes, bytearray)) or not verify_raw_signature(cert, attrs_der, raw_signature):
        raise Unprocessable(_l("the signature does not match the certificate"),
                            code=ErrorCode.BAD_SIGNATURE, fields={"signature": _l("does not verify")})
    external = signers.ExternalSigner(signing_cert=cert, cert_registry=SimpleCertificateStore.from_certs(chain),
                                      signature_value=bytes(raw_signature))
    start = output.tell() if output is not None else 0
    try:
        cms_obj = await external.async_sign_prescribed_attributes(
            DIGEST_ALGORITHM, signed_attrs=cms.CMSAttributes.load(attrs_der),
            timestamper=timestamper if level != "B-B" else None)
        buf: IO[bytes] = io.BytesIO(prepared_pdf)
        await PdfTBSDocument.async_finish_signing(buf, PreparedByteRangeDigest(
            base64.b64decode(s["document_digest"]), s["reserved_region_start"], s["reserved_region_end"]), cms_obj)
        written = False  # into the caller's output already
        if level in ("B-LT", "B-LTA"):
            assert validation_context is not None
            buf.seek(0)
            reader = PdfFileReader(buf, strict=False)
            sig = next(x for x in reader.embedded_regular_signatures if x.field_name == s["field_name"])
            buf = await async_add_validation_info(sig, validation_context, output=io.BytesIO())
            writer = IncrementalPdfFileWriter(buf, strict=False)
            backfilled = await backfill_revocation(writer, validation_context)  # earlier B-T signatures
            if level == "B-LTA":
                assert timestamper is not None
                buf = await signers.PdfTimeStamper(timestamper).async_timestamp_pdf(
                    writer, DIGEST_ALGORITHM, validation_context, output=output or io.BytesIO())
                written = output is not None
            elif backfilled:
                buf = io.BytesIO()
                writer.write(buf)
        if output is not None and not written:
            buf.seek(0)
            output.write(buf.read())
            buf = output
    except (SigningError, OSError) as exc:
        rewind(output, start)
        raise signing_failure(exc) from exc
    except BaseException:
        rewind(output, start)
        raise
    return await finish_result(buf, s["field_name"], level, datetime.fromisoformat(s["signing_time"]),
                               s.get("placement", "default"))


def prepare(pdf_stream: IO[bytes], certificate: asn1_x509.Certificate | bytes | str, **kwargs: Any) -> PreparedSigning:
    """Synchronous :func:`async_prepare`."""
    return run_sync(async_prepare(pdf_stream, certificate, **kwargs))


def complete(state: bytes | str | dict[str, Any], raw_signature: bytes, **kwargs: Any) -> SignResult:
    """Synchronous :func:`async_complete`."""
    return run_sync(async_complete(state, raw_signature, **kwargs))
