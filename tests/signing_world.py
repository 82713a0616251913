"""The exchange test world (``tests.exchange_fixtures``) plus what signing needs: a dev PKI
and credentials issued by it — a person credential for the province's signer (and the
other province's), and each province's agency seal.

Making a dev PKI costs about a second (two RSA-3072 keys); tests that keep the default
``base_url`` copy one made once per session instead (``seed_pki``).
"""
from __future__ import annotations

import base64
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from certs.issuance import issue_agency_seal, issue_person_credential
from exchange.models import Agency, User
from settings import Settings
from tests.db import session_scope
from tests.exchange_fixtures import World, build_world, upload_via_api

_template: dict[str, Path] = {}


@pytest.fixture(scope="session")
def pki_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dev PKI made once per session for the default base URL."""
    from certs.ca import init_dev_pki

    folder = tmp_path_factory.mktemp("pki-template")
    init_dev_pki(Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'unused.db'}", testing=True))
    return folder / "pki"


def seed_pki(settings: Settings, template: Path) -> None:
    """Copy the session's dev PKI into this test's data folder (before anything loads one)."""
    target = settings.data_dir / "pki"
    if not target.exists():
        shutil.copytree(template, target)


@dataclass
class SigningWorld:
    world: World
    credentials: dict[str, int]  # "signer", "other_signer", "seal", "other_seal" → Credential.id

    def headers(self, who: str) -> dict[str, str]:
        return self.world.headers(who)


def issue_credentials(engine, settings: Settings, sw: SigningWorld, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """Issue the named credentials ("signer", "other_signer", "seal", "other_seal"); about
    0.4 s each (a key, an image, a PKCS#12 file), so tests ask only for what they use."""
    world = sw.world
    with session_scope(engine, write=True) as session:
        for key in keys:
            if key in ("signer", "other_signer"):
                person = world.people[key]
                user = session.get(User, person.id)
                agency = session.get(Agency, person.agency_id)
                row = issue_person_credential(
                    session, settings, username=user.username, full_name=user.full_name,  # type: ignore[union-attr]
                    position="Chủ tịch", agency_code=agency.code, agency_name=agency.name)  # type: ignore[union-attr]
            else:
                code = world.province if key == "seal" else world.other_province
                agency = session.get(Agency, world.agency_ids[code])
                row = issue_agency_seal(session, settings, agency_code=code, agency_name=agency.name)  # type: ignore[union-attr]
            sw.credentials[key] = row.id  # type: ignore[assignment]


def build_signing_world(engine, settings: Settings, *keys: str) -> SigningWorld:  # type: ignore[no-untyped-def]
    """``build_world`` plus the province signer's person credential and the province's seal
    (or the credentials named in ``keys``)."""
    with session_scope(engine, write=True) as session:
        world = build_world(session)
    sw = SigningWorld(world, {})
    issue_credentials(engine, settings, sw, *(keys or ("signer", "seal")))
    return sw


@pytest.fixture
def signing_world(engine, settings, pki_template, app) -> SigningWorld:  # type: ignore[no-untyped-def]
    seed_pki(settings, pki_template)
    return build_signing_world(engine, settings)


def upload(client, sw: SigningWorld, text: str = "Công văn ký số") -> int:  # type: ignore[no-untyped-def]
    from tests.exchange_fixtures import make_pdf

    response = upload_via_api(client, sw.headers("clerk"), pdf=make_pdf(text, pages=2))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def register(client, sw: SigningWorld, document_id: int, who: str = "clerk") -> dict:  # type: ignore[no-untyped-def]
    """The clerk numbers a person-signed document (Decree 30: before the seal)."""
    response = client.post(f"/api/v1/documents/{document_id}/register", headers=sw.headers(who), json={})
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


# --- a signer who keeps the key (remote signing) ----------------------------------------

@dataclass
class HeldKey:
    """A certificate issued by our dev CA whose private key stays with the test (the
    official's own token)."""
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def sign_digest(self, digest_b64: str) -> str:
        digest = base64.b64decode(digest_b64)
        return base64.b64encode(self.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))).decode()


def issue_held_key(settings: Settings, *, full_name: str, agency_code: str, agency_name: str,
                   title: str | None = "Chủ tịch", issuer: str = "dev") -> HeldKey:
    """A person certificate for a key the test holds: issued by our dev CA (``issuer="dev"``)
    or self-signed by a CA nobody trusts (``issuer="stranger"``)."""
    from certs.ca import build_certificate, crl_url, leaf_extensions, load_dev_pki, name, new_rsa_key

    key = new_rsa_key()
    subject = name(full_name, o=agency_name, title=title, org_id=agency_code)
    if issuer == "dev":
        pki = load_dev_pki(settings)
        issuer_cert, issuer_key = pki.issuing, pki.issuing_key
    else:
        issuer_key = new_rsa_key()
        issuer_cert = build_certificate(subject=name("Stranger CA", o="Nobody"), public_key=issuer_key.public_key(),
                                        issuer_cert=None, issuer_key=issuer_key, days=30,
                                        extensions=[(x509.BasicConstraints(ca=True, path_length=0), True)])
    cert = build_certificate(subject=subject, public_key=key.public_key(), issuer_cert=issuer_cert,
                             issuer_key=issuer_key, days=30, extensions=leaf_extensions(), settings=settings,
                             crl=crl_url(settings), with_ocsp=True)
    return HeldKey(key, cert)


def record_held_key(engine, held: HeldKey, username: str) -> int:  # type: ignore[no-untyped-def]
    """Record the certificate as our CA would have when it issued it (its key on the
    official's own token, ``key_store="external"``): our OCSP responder then answers "good"
    for it, as it does for every certificate it issued."""
    from certs.ca import serial_hex
    from certs.models import Credential

    with session_scope(engine, write=True) as session:
        row = Credential(owner_kind="user", owner_ref=username, serial=serial_hex(held.cert.serial_number),
                         certificate=held.cert.public_bytes(serialization.Encoding.DER),
                         subject=held.cert.subject.rfc4514_string(), issuer=held.cert.issuer.rfc4514_string(),
                         key_store="external", key_ref="", not_before=held.cert.not_valid_before_utc,
                         not_after=held.cert.not_valid_after_utc)
        session.add(row)
        session.flush()
        return row.id  # type: ignore[return-value]


def content(client, sw: SigningWorld, document_id: int, who: str = "clerk") -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/documents/{document_id}/content", headers=sw.headers(who))
    assert response.status_code == 200
    return response.data


def stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


# --- rows for tests/integration/exchange/http/test_security_matrix.py ------------------------
# ``ctx`` there has .world, .client, .app, .engine and .document(who); these make what the
# signing endpoints need so that the rightful caller (called last) gets a 2xx.

def _ctx_settings(ctx) -> Settings:  # type: ignore[no-untyped-def]
    return ctx.app.extensions["lienthong.settings"]


def matrix_signable(ctx) -> dict:  # type: ignore[no-untyped-def]
    """A draft document and the province signer's credential."""
    sw = SigningWorld(ctx.world, {})
    issue_credentials(ctx.engine, _ctx_settings(ctx), sw, "signer")
    return {"doc": ctx.document("clerk")}


def matrix_person_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return {"json": {"profile": "person", "level": "B-B"}}


def matrix_prepare(ctx) -> dict:  # type: ignore[no-untyped-def]
    """A draft document and a certificate of the province signer whose key the test holds."""
    settings = _ctx_settings(ctx)
    held = issue_held_key(settings, full_name="Trần Văn Ánh", agency_code=ctx.world.province,
                          agency_name="UBND tỉnh Thử Nghiệm")
    ctx.data["held"] = held
    return {"doc": ctx.document("clerk")}


def matrix_prepare_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return {"json": {"certificate": ctx.data["held"].pem, "profile": "person", "level": "B-B"}}


def matrix_session(ctx) -> dict:  # type: ignore[no-untyped-def]
    """A prepared remote-signing session of the province signer."""
    fields = matrix_prepare(ctx)
    r = ctx.client.post(f"/api/v1/documents/{fields['doc']}/signatures/prepare",
                        headers=ctx.world.headers("signer"), json=matrix_prepare_body(ctx, fields)["json"])
    assert r.status_code == 201, r.get_json()
    ctx.data["digest"] = r.get_json()["digest"]
    return {"sid": r.get_json()["session_id"]}


def matrix_complete_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return {"json": {"signature": ctx.data["held"].sign_digest(ctx.data["digest"])}}


# --- a PDF signed "elsewhere", for an agency system's upload ----------------------------------

def signed_pdf(client, world: World, text: str = "Văn bản đã ký") -> bytes:  # type: ignore[no-untyped-def]
    """A PDF carrying a valid person signature (B-LT, by the province signer, whose credential
    ``issue_credentials(…, "signer")`` made), made through the API and downloaded: what an
    agency's own signing system gives."""
    sw = SigningWorld(world, {})
    document_id = upload(client, sw, text)
    r = client.post(f"/api/v1/documents/{document_id}/signatures", headers=world.headers("signer"),
                    json={"profile": "person", "level": "B-LT"})
    assert r.status_code in (200, 201), r.get_json()
    return content(client, sw, document_id)


def tampered(data: bytes) -> bytes:
    """One byte changed inside every signature's signed range (the header's version digit)."""
    b = bytearray(data)
    b[7] = ord("4") if b[7] != ord("4") else ord("5")
    return bytes(b)


def signed_upload_body(data: bytes, subject: str = "Văn bản hệ thống cơ quan gửi") -> dict:
    """Keyword arguments of the Flask test client for ``POST /api/v1/documents``."""
    import json

    metadata = {"doc_type": "Công văn", "subject": subject, "notation": "UBND-VP"}
    return {"content_type": "multipart/form-data",
            "data": {"file": (io.BytesIO(data), "signed.pdf"), "metadata": json.dumps(metadata)}}


def matrix_signed_pdf(ctx) -> dict:  # type: ignore[no-untyped-def]
    """A PDF signed elsewhere, for an agency system's upload."""
    issue_credentials(ctx.engine, _ctx_settings(ctx), SigningWorld(ctx.world, {}), "signer")
    ctx.data["signed_pdf"] = signed_pdf(ctx.client, ctx.world)
    return {}


def matrix_signed_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return signed_upload_body(ctx.data["signed_pdf"])
