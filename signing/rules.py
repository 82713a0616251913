"""Who a certificate names, read from its subject: the rules that decide whether a signature
is a person's or an agency's seal, and whether it belongs to a given agency. One copy, used
by the seal rule while signing and by the service when it checks a remote signer's
certificate."""
from __future__ import annotations

import unicodedata

from asn1crypto import x509 as asn1_x509

ORG_ID = "2.5.4.97"  # organizationIdentifier: the agency code (QCVN 102) in our certificates


def normalise_name(text: str | None) -> str:
    """Names compare without regard to case, Unicode form or spacing."""
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


def subject_attributes(cert: asn1_x509.Certificate) -> dict[str, str]:
    out: dict[str, str] = {}
    for rdn in cert.subject.chosen:
        for atv in rdn:
            # asn1crypto names the attributes it knows ("common_name", "title"); the agency code by OID
            key = ORG_ID if atv["type"].dotted == ORG_ID else atv["type"].native
            out.setdefault(key, str(atv["value"].native))
    return out


def is_person_certificate(cert: asn1_x509.Certificate) -> bool:
    """A person's certificate names a person (title, given name or surname) or has a CN
    other than its organisation; an agency seal's certificate has CN = O and no title."""
    s = subject_attributes(cert)
    if any(k in s for k in ("title", "given_name", "surname")):
        return True
    return bool(s.get("common_name")) and normalise_name(s.get("common_name")) != normalise_name(
        s.get("organization_name"))


def same_agency(cert: asn1_x509.Certificate, agency_code: str, agency_name: str) -> bool:
    """Whether ``cert`` belongs to the agency: its organizationIdentifier is the agency's code
    (authoritative when both are known); without a code to compare, its O is the agency's name."""
    s = subject_attributes(cert)
    code = s.get(ORG_ID, "")
    if code and agency_code:
        return normalise_name(code) == normalise_name(agency_code)
    org = s.get("organization_name", "")
    return bool(org) and bool(agency_name) and normalise_name(org) == normalise_name(agency_name)
