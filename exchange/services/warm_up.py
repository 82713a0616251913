"""A serving process's warm-up, so that its first signature costs what its tenth does.

Start-up imports none of pyHanko, fontTools or pypdfium2 (docs/benchmarks.md, start-up): a
``flask`` command never needs them. A process that serves requests (``python app.py``, each
gunicorn worker) calls :func:`warm_up_signing` once, in the background: it imports them,
loads the development TSA's key and the keys the service holds, builds a validation context
(the trust anchors, our CA's responders) and makes one throw-away signature in memory, with
a key made for it and forgotten, so that the stamp's font and the signing code paths are
loaded too. Nothing is written: no blob, no row, no audit event.
"""
from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlmodel import col, select

from certs.issuance import CredentialNotFound, CredentialRevoked, load_signing_credential
from certs.models import Credential, utcnow
from exchange.services.signatures import SERVER_KEY_STORES

if TYPE_CHECKING:
    from bootstrap import Services
    from certs.credentials import SigningCredential

log = logging.getLogger(__name__)

# a service with more keys than this loads the rest on their first use: warm-up stays short
KEYS_LOADED_AHEAD = 200
REHEARSAL_TEXT = "Bản ký thử khi khởi động: Đặng Thị Ngọc Hương, Chủ tịch"


def warm_up_signing(svc: "Services") -> None:
    """Load what the first signature would otherwise load (see the module's text)."""
    svc.timestamper()
    held = _load_held_keys(svc)
    if held:
        _check_chain(svc, held[0])
    _rehearse(svc)


def _load_held_keys(svc: "Services") -> list[SigningCredential]:
    loaded = []
    with svc.uow() as uow:
        rows = uow.session.exec(
            select(Credential).where(col(Credential.key_store).in_(SERVER_KEY_STORES),
                                     col(Credential.revoked_at).is_(None), Credential.not_after > utcnow())
            .order_by(col(Credential.id).desc()).limit(KEYS_LOADED_AHEAD)).all()
        for row in rows:
            assert row.id is not None
            try:
                loaded.append(load_signing_credential(uow.session, svc.settings, row.id))
            except (CredentialNotFound, CredentialRevoked, OSError, ValueError) as exc:
                # its own signature will say what is wrong; warm-up goes on with the others
                log.warning("credential %s not loaded ahead: %s", row.id, type(exc).__name__)
    return loaded


def _check_chain(svc: "Services", credential: SigningCredential) -> None:
    """Validate one held certificate as B-LT signing does (its chain, our CA's OCSP and CRL
    answered in-process): the validator's code and the responders' answers are then loaded.
    No key is used."""
    from pyhanko_certvalidator import CertificateValidator

    from signing.sign import run_sync

    validator = CertificateValidator(credential.certificate, intermediate_certs=list(credential.chain),
                                     validation_context=svc.validation_context(for_signing=True))
    try:
        run_sync(validator.async_validate_usage({"digital_signature"}))
    except Exception as exc:  # noqa: BLE001 - a signature with it will say what is wrong
        log.warning("credential %s: its chain did not validate at warm-up: %s", credential.credential_id,
                    type(exc).__name__)


def _rehearse(svc: "Services") -> None:
    """One B-T signature (our TSA's time stamp) with a visible stamp (a signature image, the
    text in the Vietnamese font) on a blank page."""
    from signing.sign import sign

    sign(io.BytesIO(_blank_pdf()), _throwaway_credential(), profile="person", level="B-T",
         timestamper=svc.timestamper())


def _throwaway_credential() -> SigningCredential:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from certs.credentials import SigningCredential
    from certs.images import signature_placeholder
    from certs.key_signer import CachedKeySigner
    from certs.keystore import to_asn1_cert

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lienthong warm-up")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(minutes=10))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    asn1 = to_asn1_cert(cert)
    return SigningCredential(kind="person", signer=CachedKeySigner(key, asn1, []), certificate=asn1,
                             display_name=REHEARSAL_TEXT, position="Chủ tịch", organization="lienthong",
                             image_png=signature_placeholder(REHEARSAL_TEXT))


def _blank_pdf() -> bytes:
    """One empty A4 page, written by pyHanko's own writer (loaded to sign anyway)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.pdf_utils.writer import PdfFileWriter

    writer = PdfFileWriter(stream_xrefs=False)
    writer.insert_page(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Page"),
        pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        pdf_name("/Resources"): generic.DictionaryObject(),
        pdf_name("/Contents"): writer.add_object(generic.StreamObject(stream_data=b"")),
    }))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
