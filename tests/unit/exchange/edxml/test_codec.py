"""The edXML codec alone (exchange.edxml): build → parse gives back every field and the
files' bytes; the parser refuses entity expansion, external entities, DTDs, oversized
parts and unknown status codes with their own codes; the envelope signature is checked."""
from __future__ import annotations

import base64
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

from errors import ServiceError
from exchange.domain.times import VN_TZ
from exchange.edxml import build, parse
from exchange.edxml.model import (NS, BusinessType, DocumentPackage, Hop, Organ, Part, ResponseFor, SignatureCheck,
                                  Staff, StatusPackage)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def _package(**changes) -> DocumentPackage:  # type: ignore[no-untyped-def]
    fields = dict(
        sender=Organ("000.00.00.H62", name="UBND tỉnh Thử Nghiệm", in_charge="UBND tỉnh", email="vt@h62.gov.vn"),
        recipients=(Organ("000.01.01.H62", name="Xã An Bình"), Organ("000.02.01.H62", name="Xã Hòa Lộc")),
        document_id="000.00.00.H62,2026/11/20,12/UBND-VP", number="12", notation="UBND-VP",
        subject="V/v triển khai thử nghiệm liên thông văn bản", place="Vĩnh Long",
        promulgation_date=date(2026, 11, 20), type_code="1", type_name="Công văn", content="Nội dung",
        signer_competence="KT. CHỦ TỊCH", signer_position="Phó Chủ tịch", signer_name="Trần Văn Ánh",
        due_date=date(2026, 12, 31), priority=2, sphere="Liên thông văn bản quốc gia", typer_notation="TVC",
        promulgation_amount="3", page_amount="2", appendixes=("Phụ lục I",), steering_type="1",
        to_places=("Các xã",), response_for=ResponseFor("000.00.00.H63", "7/UBND", "2026/10/01",
                                                        "000.00.00.H63,2026/10/01,7/UBND"),
        trace=(Hop("000.00.00.H62", datetime(2026, 11, 20, 9, 30, tzinfo=VN_TZ)),),
        business=BusinessType.REPLACE, business_reason="Văn bản thay thế",
        replaces=("000.00.00.H62,2026/11/01,11/UBND-VP",), staff=Staff("Văn phòng", "Nguyễn Thị Lấp Lánh"),
        parts=(Part("cid:1", "công-văn.pdf", "application/pdf", PDF, "công văn"),
               Part("cid:2", "phụ lục.docx", "application/octet-stream", b"\x00\x01PK\xff" * 100, "phụ lục")),
    )
    fields.update(changes)
    return DocumentPackage(**fields)  # type: ignore[arg-type]


def test_a_document_package_round_trips_every_field_and_byte():
    package = _package()
    again = parse.parse(build.build_document(package))
    assert isinstance(again, DocumentPackage)
    assert again.signature.state == "absent"
    assert again == package  # every field, and the files byte for byte


def test_a_status_package_round_trips():
    package = StatusPackage(sender=Organ("000.01.01.H62", name="Xã An Bình"),
                            response_for=ResponseFor("000.00.00.H62", "12/UBND-VP", "2026/11/20",
                                                     "000.00.00.H62,2026/11/20,12/UBND-VP"),
                            status_code="02", description="Gửi nhầm đơn vị",
                            at=datetime(2026, 11, 21, 8, 0, tzinfo=VN_TZ), staff=Staff(staff="Văn thư xã"))
    again = parse.parse(build.build_status(package))
    assert again == package and isinstance(again, StatusPackage) and again.status.value == "returned"


def _status_with_code(code: str) -> bytes:
    package = StatusPackage(sender=Organ("000.01.01.H62"), response_for=ResponseFor(document_id="x,y,1/A"),
                            status_code="03")
    return build.build_status(package).replace(b"<edXML:StatusCode>03<", f"<edXML:StatusCode>{code}<".encode())


@pytest.mark.parametrize("code", ["07", "14", "99", "", "3"])
def test_unknown_status_codes_are_refused(code):
    with pytest.raises(ServiceError) as refused:
        parse.parse(_status_with_code(code))
    assert refused.value.code == "edxml_unknown_status"


@pytest.mark.parametrize("code", ["01", "02", "03", "04", "05", "06", "13", "15", "16"])
def test_every_status_code_of_the_lifecycle_is_read(code):
    assert parse.parse(_status_with_code(code)).status_code == code  # type: ignore[union-attr]


BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (str(i - 1).encode() if i > 1 else b""))
                                                                * 10) for i in range(1, 10))
                  + b']>\n<edXML xmlns="' + NS.encode() + b'"><a>&lol9;</a></edXML>')


def test_billion_laughs_is_refused_in_well_under_a_second():
    started = time.perf_counter()
    with pytest.raises(ServiceError) as refused:
        parse.parse(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0
    assert refused.value.code == "edxml_dtd_refused"


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<edXML xmlns="' + NS.encode() + b'"><a>&x;</a></edXML>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">'
    b'<edXML xmlns="' + NS.encode() + b'"/>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>'
    b'<edXML xmlns="' + NS.encode() + b'"/>',
], ids=["external-entity", "external-dtd", "parameter-entity"])
def test_external_entities_and_dtds_are_refused(payload):
    with pytest.raises(ServiceError) as refused:
        parse.parse(payload)
    assert refused.value.code == "edxml_dtd_refused"


@pytest.mark.parametrize("payload", [b"", b"not xml", b"<edXML xmlns='" + NS.encode() + b"'><a></edXML>",
                                     b"<other/>"], ids=["empty", "text", "unclosed", "foreign-root"])
def test_malformed_packages_are_refused(payload):
    with pytest.raises(ServiceError) as refused:
        parse.parse(payload)
    assert refused.value.code == "edxml_malformed"


def test_a_huge_base64_part_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(parse, "MAX_PART_BYTES", 64 * 1024)
    data = build.build_document(_package(parts=(Part("cid:1", "a.pdf", "application/pdf", PDF * 10),)))
    with pytest.raises(ServiceError) as refused:
        parse.parse(data)
    assert refused.value.code == "edxml_too_large"
    with pytest.raises(ServiceError) as whole:
        parse.parse(data, max_bytes=1000)
    assert whole.value.code == "edxml_too_large"


def test_a_text_node_over_libxml2s_limit_is_too_large_not_malformed():
    text = b"A" * (10 * 1024 * 1024 + 10)
    data = (b'<edXML xmlns="' + NS.encode() + b'"><AttachmentEncoded><Attachment><ContentTransferEncoded>'
            + text + b"</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>")
    with pytest.raises(ServiceError) as refused:
        parse.parse(data)
    assert refused.value.code == "edxml_too_large"


def test_bad_base64_and_bad_dates_are_invalid_with_the_field_named():
    data = build.build_document(_package())
    broken = data.replace(b"<edXML:PromulgationDate>2026/11/20<", b"<edXML:PromulgationDate>20-11-2026<")
    with pytest.raises(ServiceError) as refused:
        parse.parse(broken)
    assert refused.value.code == "edxml_invalid" and "PromulgationInfo/PromulgationDate" in refused.value.fields
    root = etree.fromstring(data)
    root.find(f".//{{{NS}}}ContentTransferEncoded").text = "***not base64***"
    with pytest.raises(ServiceError) as bad:
        parse.parse(etree.tostring(root))
    assert bad.value.code == "edxml_invalid"


def _key_and_certificate() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư tỉnh Thử Nghiệm")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()), cert.public_bytes(serialization.Encoding.PEM))


def _signed(data: bytes) -> etree._Element:
    key, cert = _key_and_certificate()
    root = etree.fromstring(data)
    signed = XMLSigner().sign(root, key=key, cert=cert)
    # an enveloped signature in edXMLHeader, where QCVN 102 puts it
    signature = signed.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    signed.find(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader").append(signature)
    return signed


def test_a_valid_envelope_signature_is_valid_and_a_tampered_one_invalid():
    signed = _signed(build.build_document(_package()))
    good = parse.parse(etree.tostring(signed))
    assert good.signature.state == "valid", good.signature
    assert "Văn thư tỉnh Thử Nghiệm" in good.signature.signer
    signed.find(f".//{{{NS}}}Subject").text = "Trích yếu đã bị sửa"
    bad = parse.parse(etree.tostring(signed))
    assert bad.signature.state == "invalid" and bad.signature.reason == "mismatch" and bad.signature.detail
    assert bad.subject == "Trích yếu đã bị sửa"  # shown as it is, not refused


def test_a_signature_outside_the_xmldsig_namespace_is_invalid():
    data = build.build_document(_package())
    root = etree.fromstring(data)
    etree.SubElement(root.find(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader"), f"{{{NS}}}Signature")
    assert parse.parse(etree.tostring(root)).signature == SignatureCheck("invalid", "not_xmldsig")


def test_base64_is_what_travels():
    data = build.build_document(_package())
    assert base64.b64encode(PDF) in data
