"""The envelope's XML signature (XMLDSig, enveloped, over the whole package), checked with
``signxml``: the XML must be what the key of the certificate in ``KeyInfo`` signed. That
certificate's owner is shown; whether it chains to a trusted authority is not judged here
(the PDF inside carries the signatures that count, judged by the verifier as usual). A
broken envelope signature is reported, never a reason to refuse the package. SHA-1, which the
official SDK sample still uses, is not accepted as valid (signxml's default policy)."""
from __future__ import annotations

import base64
import copy

from cryptography import x509
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from exchange.edxml.model import DSIG_NS, NS, SignatureCheck
from translations import Message, _l

_REASON_MAX = 300
NOT_XMLDSIG, NO_CERTIFICATE, MISMATCH = "not_xmldsig", "no_certificate", "mismatch"
REASONS: dict[str, Message] = {
    NOT_XMLDSIG: _l("the Signature element is not in the XML-DSig namespace"),
    NO_CERTIFICATE: _l("the certificate in the signature's KeyInfo is missing or damaged"),
    MISMATCH: _l("the signature does not verify: the package was changed after signing, or its algorithm "
                 "is refused (SHA-1)"),
}


def reason_message(reason: str) -> Message | str:
    """What ``SignatureCheck.reason`` says, in the reader's language once rendered."""
    return REASONS.get(reason, reason)


def check(root: etree._Element) -> SignatureCheck:
    header = root.find(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader")
    signature = root.find(f".//{{{DSIG_NS}}}Signature")
    if signature is None:
        if header is not None and any(etree.QName(e).localname == "Signature" for e in header):
            return SignatureCheck("invalid", NOT_XMLDSIG)
        return SignatureCheck("absent")
    certificate_text = signature.findtext(f".//{{{DSIG_NS}}}X509Certificate") or ""
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode("".join(certificate_text.split())))
    except ValueError:
        return SignatureCheck("invalid", NO_CERTIFICATE)
    signer = certificate.subject.rfc4514_string()[:_REASON_MAX]
    try:
        XMLVerifier().verify(copy.deepcopy(root), x509_cert=certificate,
                             expect_config=SignatureConfiguration(location=".//"))
    except Exception as exc:  # noqa: BLE001 - a foreign signature may break in any way: it is reported, not raised
        return SignatureCheck("invalid", MISMATCH, signer, f"{type(exc).__name__}: {exc}"[:_REASON_MAX])
    return SignatureCheck("valid", "", signer)
