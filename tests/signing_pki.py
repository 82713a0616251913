"""A small, self-contained PKI for the signing tests and bench: no `certs` package needed.

root → issuing CA → person certificates (Vietnamese CN, title, O, organizationIdentifier =
agency code), agency seal certificates, an OCSP responder and a TSA. OCSP and CRL are served
over real HTTP on 127.0.0.1 (a thread in this process); the TSA is pyHanko's
``DummyTimeStamper`` with its key kept loaded. Keys live in memory only.
"""
from __future__ import annotations

import datetime as dt
import io
import threading
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
import pytest
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certs.credentials import SigningCredential

ORG_ID = ObjectIdentifier("2.5.4.97")  # organizationIdentifier
AGENCY_A = ("000.00.00.H62", "Ủy ban nhân dân tỉnh Vĩnh Long")
AGENCY_B = ("000.00.00.H29", "Ủy ban nhân dân thành phố Hà Nội")
NOW = dt.datetime.now(dt.timezone.utc)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class CachedKeySigner(signers.SimpleSigner):
    """SimpleSigner that keeps the parsed private key (pyHanko re-parses it on every call)."""

    def __init__(self, cert, private_key, registry) -> None:  # type: ignore[no-untyped-def]
        der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        super().__init__(signing_cert=cert, signing_key=asn1_keys.PrivateKeyInfo.load(der), cert_registry=registry)
        self._key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), getattr(hashes, digest_algorithm.upper())())


class CachedKeyTimeStamper(DummyTimeStamper):
    """DummyTimeStamper without the per-request key parse (~40 ms)."""

    def __init__(self, cert, private_key, chain) -> None:  # type: ignore[no-untyped-def]
        der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        super().__init__(cert, asn1_keys.PrivateKeyInfo.load(der), certs_to_embed=chain)
        self._key = private_key

    def _sign_tst_info(self, tst_info_data, md_algorithm, dt):  # type: ignore[no-untyped-def]
        from asn1crypto import cms, core
        from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
        digest = hashes.Hash(getattr(hashes, md_algorithm.upper())())
        digest.update(tst_info_data)
        attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        return self._key.sign(attrs.dump(), padding.PKCS1v15(), getattr(hashes, md_algorithm.upper())()), attrs


@dataclass
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @cached_property
    def asn1(self) -> asn1_x509.Certificate:
        return _to_asn1(self.cert)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def signature_png(name: str = "") -> bytes:
    """A blue, transparent 'handwritten' stroke."""
    img = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    pts = [(10 + i * 7, 60 + int(35 * ((-1) ** i) * (1 - i / 45))) for i in range(41)]
    d.line(pts, fill=(20, 40, 200, 255), width=5, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def seal_png() -> bytes:
    """A red, transparent round seal."""
    img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((8, 8, 392, 392), outline=(220, 20, 30, 255), width=14)
    d.ellipse((60, 60, 340, 340), outline=(220, 20, 30, 255), width=6)
    d.regular_polygon((200, 200, 70), 5, fill=(220, 20, 30, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@dataclass
class SigningPKI:
    base_url: str
    root: Issued
    issuing: Issued
    ocsp_responder: Issued
    tsa: Issued
    revoked: dict[int, dt.datetime] = field(default_factory=dict)
    responders_down: bool = False   # True: OCSP and CRL answer 503
    _server: ThreadingHTTPServer | None = None

    # ---- issuing -------------------------------------------------------------
    def _issue(self, subject: x509.Name, *, key: rsa.RSAPrivateKey | None = None,
               eku: list | None = None, ocsp_nocheck: bool = False, days: int = 365) -> Issued:
        key = key or _key()
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.issuing.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=False, key_cert_sign=False, crl_sign=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.issuing.key.public_key()), critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
        if ocsp_nocheck:
            builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
        else:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(f"{self.base_url}/crl")], relative_name=None,
                reasons=None, crl_issuer=None)]), critical=False)
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{self.base_url}/ocsp"))]),
                critical=False)
        return Issued(builder.sign(self.issuing.key, hashes.SHA256()), key)

    def issue_person(self, name: str = "Nguyễn Thị Lấp Lánh Ánh", title: str = "Chủ tịch",
                     agency: tuple[str, str] = AGENCY_A) -> Issued:
        return self._issue(x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency[1]),
            x509.NameAttribute(ORG_ID, agency[0]),
            x509.NameAttribute(NameOID.TITLE, title),
            x509.NameAttribute(NameOID.COMMON_NAME, name)]))

    def issue_seal(self, agency: tuple[str, str] = AGENCY_A) -> Issued:
        return self._issue(x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency[1]),
            x509.NameAttribute(ORG_ID, agency[0]),
            x509.NameAttribute(NameOID.COMMON_NAME, agency[1])]))

    def revoke(self, issued: Issued) -> None:
        self.revoked[issued.cert.serial_number] = NOW - dt.timedelta(hours=1)

    def credential(self, issued: Issued, kind: str = "person") -> SigningCredential:
        subject = issued.cert.subject

        def attr(oid: ObjectIdentifier) -> str:
            found = subject.get_attributes_for_oid(oid)
            return str(found[0].value) if found else ""

        registry = SimpleCertificateStore.from_certs([self.issuing.asn1, self.root.asn1])
        signer = CachedKeySigner(issued.asn1, issued.key, registry)
        return SigningCredential(
            kind=kind, signer=signer, certificate=issued.asn1, chain=(self.issuing.asn1,),  # type: ignore[arg-type]
            display_name=attr(NameOID.COMMON_NAME), position=attr(NameOID.TITLE),
            organization=attr(NameOID.ORGANIZATION_NAME), agency_code=attr(ORG_ID),
            image_png=signature_png() if kind == "person" else seal_png())

    # ---- services ------------------------------------------------------------
    def timestamper(self) -> DummyTimeStamper:
        return CachedKeyTimeStamper(self.tsa.asn1, self.tsa.key, [self.issuing.asn1, self.root.asn1])

    def validation_context(self, *, online: bool = True) -> ValidationContext:
        return ValidationContext(trust_roots=[self.root.asn1], other_certs=[self.issuing.asn1],
                                 allow_fetching=online, revocation_mode="hard-fail",
                                 # requests, not aiohttp: no client session left open per asyncio.run
                                 fetcher_backend=RequestsFetcherBackend() if online else None)

    @cached_property
    def http_tsa(self) -> DummyTimeStamper:
        return self.timestamper()

    def crl_der(self) -> bytes:
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.issuing.cert.subject)
                   .last_update(NOW - dt.timedelta(minutes=5))
                   .next_update(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
                   .add_extension(x509.CRLNumber(1), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.issuing.key.public_key()), critical=False))
        for serial, when in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
        return builder.sign(self.issuing.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_der(self, body: bytes) -> bytes:
        req = ocsp.load_der_ocsp_request(body)
        now = dt.datetime.now(dt.timezone.utc)
        rev = self.revoked.get(req.serial_number)
        status = ocsp.OCSPCertStatus.REVOKED if rev else ocsp.OCSPCertStatus.GOOD
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash, issuer_key_hash=req.issuer_key_hash,
            serial_number=req.serial_number, algorithm=req.hash_algorithm, cert_status=status,
            this_update=now - dt.timedelta(minutes=1), next_update=now + dt.timedelta(hours=12),
            revocation_time=rev, revocation_reason=None)
        resp = (builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.ocsp_responder.cert)
                .certificates([self.ocsp_responder.cert]).sign(self.ocsp_responder.key, hashes.SHA256()))
        return resp.public_bytes(serialization.Encoding.DER)

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def write_root_pem(self, path: Path) -> Path:
        path.write_bytes(self.root.pem)
        return path


def _handler(pki_ref: list) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

        def _send(self, body: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if pki_ref[0].responders_down:
                self.send_error(503)
            elif self.path.startswith("/crl"):
                self._send(pki_ref[0].crl_der(), "application/pkix-crl")
            else:
                self.send_error(404)

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if pki_ref[0].responders_down:
                self.send_error(503)
            elif self.path.startswith("/ocsp"):
                self._send(pki_ref[0].ocsp_der(body), "application/ocsp-response")
            elif self.path.startswith("/tsa"):  # RFC 3161 over HTTP, for the pyhanko command line in bench/
                from asn1crypto import tsp
                response = pki_ref[0].http_tsa.request_tsa_response(tsp.TimeStampReq.load(body))
                self._send(response.dump(), "application/timestamp-reply")
            else:
                self.send_error(404)
    return Handler


def _ca(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: Issued | None, path_len: int | None) -> Issued:
    issuer_name = issuer.cert.subject if issuer else subject
    issuer_key = issuer.key if issuer else key
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=30)).not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    return Issued(cert, key)


def start_pki() -> SigningPKI:
    """Build the PKI and start its OCSP/CRL server on 127.0.0.1 (call ``stop()`` when done)."""
    ref: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    root = _ca(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "Lienthong Test Root CA")]), _key(), None, None)
    issuing = _ca(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                             x509.NameAttribute(NameOID.COMMON_NAME, "Lienthong Test Issuing CA")]), _key(), root, 0)
    pki = SigningPKI(base_url=base_url, root=root, issuing=issuing, ocsp_responder=None, tsa=None)  # type: ignore[arg-type]
    pki.ocsp_responder = pki._issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test OCSP")]),
                                    eku=[ExtendedKeyUsageOID.OCSP_SIGNING], ocsp_nocheck=True)
    pki.tsa = pki._issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]),
                         eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    ref.append(pki)
    pki._server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return pki


def offline_statuses(pki: SigningPKI, data: bytes) -> dict:
    """Validate every signature from the file's own DSS only: no network."""
    reader = PdfFileReader(io.BytesIO(data))
    out = {}
    for sig in reader.embedded_regular_signatures:
        settings = {"trust_roots": [pki.root.asn1], "allow_fetching": False, "revocation_mode": "hard-fail"}
        vc = (DocumentSecurityStore.read_dss(reader).as_validation_context(settings) if "/DSS" in reader.root
              else ValidationContext(**settings, crls=[], ocsps=[]))
        out[sig.field_name] = validate_pdf_signature(sig, signer_validation_context=vc)
    return out


@pytest.fixture(scope="session")
def signing_pki():  # type: ignore[no-untyped-def]
    pki = start_pki()
    yield pki
    pki.stop()


@pytest.fixture(scope="session")
def person(signing_pki: SigningPKI) -> SigningCredential:
    return signing_pki.credential(signing_pki.issue_person())


@pytest.fixture(scope="session")
def seal(signing_pki: SigningPKI) -> SigningCredential:
    return signing_pki.credential(signing_pki.issue_seal(), kind="seal")
