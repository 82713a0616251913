"""Who counts as a person, and who belongs to the seal's agency (certificates built in memory)."""
from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signing.rules import is_person_certificate, same_agency, subject_attributes
from signing.sign import Identity

ORG_ID = x509.ObjectIdentifier("2.5.4.97")
KEY = ec.generate_private_key(ec.SECP256R1())


def cert(cn: str, o: str = "", code: str = "", title: str = "") -> asn1_x509.Certificate:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if code:
        attrs.append(x509.NameAttribute(ORG_ID, code))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    now = dt.datetime.now(dt.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(x509.Name(attrs))
         .public_key(KEY.public_key()).serial_number(1).not_valid_before(now)
         .not_valid_after(now + dt.timedelta(days=1)).sign(KEY, hashes.SHA256()))
    return asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))


VL = "Ủy ban nhân dân tỉnh Vĩnh Long"


def test_subject_attributes_read_vietnamese_and_the_agency_code() -> None:
    s = subject_attributes(cert("Nguyễn Văn A", VL, "000.00.00.H62", "Chủ tịch"))
    assert s["common_name"] == "Nguyễn Văn A" and s["title"] == "Chủ tịch"
    assert s["organization_name"] == VL and s["2.5.4.97"] == "000.00.00.H62"
    ident = Identity.from_certificate(cert("Nguyễn Văn A", VL, "000.00.00.H62", "Chủ tịch"))
    assert (ident.display_name, ident.position, ident.organization, ident.agency_code) == (
        "Nguyễn Văn A", "Chủ tịch", VL, "000.00.00.H62")


@pytest.mark.parametrize("c, person", [
    (cert("Nguyễn Văn A", VL, "H62", "Chủ tịch"), True),
    (cert("Nguyễn Văn A", VL, "H62"), True),            # no title, but a CN that is not the agency
    (cert(VL, VL, "H62"), False),                        # seal: CN = O
    (cert("  ỦY BAN nhân dân tỉnh Vĩnh Long ", VL), False),  # same name, other case and spacing
])
def test_is_person_certificate(c, person) -> None:  # type: ignore[no-untyped-def]
    assert is_person_certificate(c) is person


def test_same_agency_prefers_the_code_then_the_name() -> None:
    code = "000.00.00.H62"
    assert same_agency(cert("A", VL, code), code, VL)
    assert not same_agency(cert("A", VL, "000.00.00.H29"), code, VL)      # same name, other code: not ours
    assert same_agency(cert("A", "ủy ban nhân dân tỉnh vĩnh long"), code, VL)  # no code: the name decides
    assert not same_agency(cert("A", "Ủy ban nhân dân thành phố Hà Nội"), code, VL)
    assert not same_agency(cert("A"), code, VL)
    assert same_agency(cert("A", VL, code), "", VL)  # no code of ours to compare: the name decides
    assert not same_agency(cert("A", VL), code, "")
