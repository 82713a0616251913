"""Remote (two-step) signing over HTTP: the official's private key stays with the test, as
it would on the official's own token; the service only sees the certificate and the raw
signature."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from certs.trust import trust_roots
from exchange.models import Revision, SigningSession, utcnow
from signing.verify import verify
from tests.db import session_scope
from tests.exchange_fixtures import snapshot
from tests.signing_world import (HeldKey, content, issue_held_key, pki_template, record_held_key,  # noqa: F401
                                 register, signing_world, upload)

SIGNER_NAME = "Trần Văn Ánh"  # the world's province signer


@pytest.fixture
def held(settings, signing_world) -> HeldKey:  # type: ignore[no-untyped-def]
    return issue_held_key(settings, full_name=SIGNER_NAME, agency_code=signing_world.world.province,
                          agency_name="UBND tỉnh Thử Nghiệm")


def _prepare(client, sw, doc_id, who="signer", **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc_id}/signatures/prepare", headers=sw.headers(who), json=body)


def _complete(client, sw, session_id, signature, who="signer"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/signing-sessions/{session_id}/complete", headers=sw.headers(who),
                       json={"signature": signature})


def test_prepare_then_complete_then_seal_verifies(client, engine, settings, signing_world, held):
    sw = signing_world
    doc_id = upload(client, sw)
    r = _prepare(client, sw, doc_id, certificate=held.pem, profile="person", level="B-LT")
    assert r.status_code == 201, r.get_json()
    prepared = r.get_json()
    assert prepared["digest_algorithm"] == "sha256" and len(base64.b64decode(prepared["digest"])) == 32
    assert prepared["expires_at"] and prepared["session_id"]

    r = _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"]))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["document"]["state"] == "signed" and body["revision"]["seq"] == 2
    assert body["revision"]["profile"] == "person" and body["revision"]["level"] == "B-LT"
    assert body["revision"]["signer"]["username"] == "lanhdao.tinh"

    register(client, sw, doc_id)
    sealed = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("clerk"),
                         json={"profile": "seal"})
    assert sealed.status_code == 201, sealed.get_json()
    report = verify(content(client, sw, doc_id), trust_roots=trust_roots(settings))
    assert report.indication == "PASSED", report.to_json()
    assert [s.signer.name for s in report.signatures] == [SIGNER_NAME, "UBND tỉnh Thử Nghiệm"]

    # completed twice → 409, nothing more stored
    again = _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"]))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "session_completed"
    with session_scope(engine) as s:  # the prepared PDF copy is gone from the finished session
        assert len(s.get(SigningSession, prepared["session_id"]).state) < 1000


def test_the_signing_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    sign = spec["paths"]["/api/v1/documents/{document_id}/signatures"]["post"]
    assert set(sign["responses"]) >= {"201", "401", "403", "404", "409", "422", "503"}
    assert sign["security"] == [{"BearerAuth": []}, {"SessionCookie": []}]
    body = sign["requestBody"]["content"]["application/json"]["schema"]
    props = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert props["profile"]["enum"] == ["person", "seal"] and props["level"]["default"] == "B-LT"
    prepare = spec["paths"]["/api/v1/documents/{document_id}/signatures/prepare"]["post"]
    assert set(prepare["responses"]) >= {"201", "404", "422"}
    complete = spec["paths"]["/api/v1/signing-sessions/{session_id}/complete"]["post"]
    assert set(complete["responses"]) >= {"201", "404", "409", "410", "422"}
    assert "get" in spec["paths"]["/api/v1/documents/{document_id}/signatures"]


def test_a_wrong_signature_is_422_and_stores_nothing(client, app, engine, signing_world, held, settings):
    sw = signing_world
    doc_id = upload(client, sw)
    prepared = _prepare(client, sw, doc_id, certificate=held.pem, profile="person").get_json()
    before = snapshot(engine, app)
    stranger = issue_held_key(settings, full_name=SIGNER_NAME, agency_code=sw.world.province,
                              agency_name="UBND tỉnh Thử Nghiệm")  # same name, another key
    wrong = [stranger.sign_digest(prepared["digest"]),
             held.sign_digest(base64.b64encode(b"\x00" * 32).decode()),
             base64.b64encode(b"not a signature").decode(), "%%% not base64 %%%"]
    for signature in wrong:
        r = _complete(client, sw, prepared["session_id"], signature)
        assert r.status_code == 422, r.get_json()
        assert "signature" in r.get_json()["error"].get("fields", {})
    assert snapshot(engine, app) == before
    # the session is still usable with the right signature
    assert _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"])).status_code == 201


def test_an_expired_session_is_refused(client, app, engine, signing_world, held):
    sw = signing_world
    doc_id = upload(client, sw)
    prepared = _prepare(client, sw, doc_id, certificate=held.pem, profile="person").get_json()
    with session_scope(engine, write=True) as s:
        s.execute(sa.update(SigningSession).where(SigningSession.id == prepared["session_id"])
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    before = snapshot(engine, app)
    r = _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"]))
    assert r.status_code == 410 and r.get_json()["error"]["code"] == "session_expired", r.get_json()
    assert snapshot(engine, app) == before

    # a day later the next prepare clears it away (it held a copy of the PDF)
    with session_scope(engine, write=True) as s:
        s.execute(sa.update(SigningSession).where(SigningSession.id == prepared["session_id"])
                  .values(expires_at=utcnow() - timedelta(days=1, seconds=1)))
    fresh = _prepare(client, sw, doc_id, certificate=held.pem, profile="person").get_json()
    with session_scope(engine) as s:
        assert [r.id for r in s.exec(select(SigningSession))] == [fresh["session_id"]]
    r = _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"]))
    assert r.status_code == 404


def test_another_users_session_is_404(client, app, engine, signing_world, held):
    sw = signing_world
    doc_id = upload(client, sw)
    prepared = _prepare(client, sw, doc_id, certificate=held.pem, profile="person").get_json()
    before = snapshot(engine, app)
    for who in ("clerk", "other_signer", "other_clerk"):
        r = _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"]), who=who)
        assert r.status_code == 404, (who, r.get_json())
    assert _complete(client, sw, "no-such-session", held.sign_digest(prepared["digest"])).status_code == 404
    assert client.post(f"/api/v1/signing-sessions/{prepared['session_id']}/complete",
                       json={"signature": "AAAA"}).status_code == 401
    assert snapshot(engine, app) == before


def test_only_the_callers_own_trusted_certificate_is_accepted(client, app, engine, settings, signing_world, held):
    sw = signing_world
    doc_id = upload(client, sw)
    not_me = issue_held_key(settings, full_name="Người Khác", agency_code=sw.world.province,
                            agency_name="UBND tỉnh Thử Nghiệm")
    other_agency = issue_held_key(settings, full_name=SIGNER_NAME, agency_code=sw.world.other_province,
                                  agency_name="UBND tỉnh Bên Cạnh")
    untrusted = issue_held_key(settings, full_name=SIGNER_NAME, agency_code=sw.world.province,
                               agency_name="UBND tỉnh Thử Nghiệm", issuer="stranger")
    before = snapshot(engine, app)
    for cert, code in ((not_me.pem, "certificate_not_yours"), (other_agency.pem, "certificate_not_yours"),
                       (untrusted.pem, "certificate_untrusted"), ("-----BEGIN CERTIFICATE-----\nAAAA\n", "certificate_invalid")):
        r = _prepare(client, sw, doc_id, certificate=cert, profile="person")
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["error"]["code"] == code and "certificate" in r.get_json()["error"]["fields"]
    # a person certificate is not a seal, and the seal needs the clerk
    assert _prepare(client, sw, doc_id, "clerk", certificate=held.pem, profile="seal").status_code == 422
    assert _prepare(client, sw, doc_id, "clerk", certificate=held.pem, profile="person").status_code == 403
    # another agency's document
    assert _prepare(client, sw, doc_id, "other_signer", certificate=held.pem, profile="person").status_code == 404
    assert snapshot(engine, app) == before


def test_a_revoked_certificate_is_refused_at_prepare(client, app, engine, settings, signing_world, held):
    from certs.ca import serial_hex
    from certs.issuance import revoke

    sw = signing_world
    doc_id = upload(client, sw)
    record_held_key(engine, held, "lanhdao.tinh")
    with session_scope(engine, write=True) as s:
        revoke(s, settings, serial_hex(held.cert.serial_number), "keyCompromise")
    r = _prepare(client, sw, doc_id, certificate=held.pem, profile="person")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "certificate_revoked", r.get_json()


def test_a_session_racing_a_server_signature_gets_409(client, app, engine, signing_world, held):
    """Prepared on revision 1; a server-side signature lands first; completing would fork
    the chain, so it is refused and the chain stays linear."""
    sw = signing_world
    doc_id = upload(client, sw)
    prepared = _prepare(client, sw, doc_id, certificate=held.pem, profile="person", level="B-B").get_json()
    assert client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                       json={"profile": "person", "level": "B-B"}).status_code == 201
    r = _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"]))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "revision_conflict"
    with session_scope(engine) as s:
        assert [r.seq for r in s.exec(select(Revision).where(Revision.document_id == doc_id))] == [1, 2]
        assert s.get(SigningSession, prepared["session_id"]).completed_at is None


def test_a_recorded_token_certificate_is_never_used_for_server_signing(client, engine, signing_world, held):
    """The official's token certificate, recorded by our CA, has no key on the server: the
    default pick skips it, and naming it asks for remote signing."""
    sw = signing_world
    doc_id = upload(client, sw)
    token_credential = record_held_key(engine, held, "lanhdao.tinh")  # the newest of the signer's credentials
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                    json={"profile": "person", "credential_id": token_credential})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "key_not_held", r.get_json()
    r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                    json={"profile": "person", "level": "B-B"})
    assert r.status_code == 201 and r.get_json()["revision"]["credential_id"] == sw.credentials["signer"]
    # signing the same document again, remotely this time, is the same official twice: 409
    again = _prepare(client, sw, doc_id, certificate=held.pem, profile="person", level="B-B")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_signed", again.get_json()
    # remote signing with it (another document) records the credential on the revision
    prepared = _prepare(client, sw, upload(client, sw, "Văn bản khác"), certificate=held.pem, profile="person",
                        level="B-B").get_json()
    done = _complete(client, sw, prepared["session_id"], held.sign_digest(prepared["digest"]))
    assert done.status_code == 201 and done.get_json()["revision"]["credential_id"] == token_credential
    assert done.get_json()["revision"]["signer"]["name"] == SIGNER_NAME


def test_a_clerk_seals_remotely_with_the_agencys_token(client, settings, signing_world, held):
    sw = signing_world
    doc_id = upload(client, sw)
    agency_name = "UBND tỉnh Thử Nghiệm"
    seal_token = issue_held_key(settings, full_name=agency_name, agency_code=sw.world.province,
                                agency_name=agency_name, title=None)  # CN = O: a seal certificate
    # no person signature yet: the seal rule holds at prepare, nothing is kept
    r = _prepare(client, sw, doc_id, "clerk", certificate=seal_token.pem, profile="seal")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "seal_refused"
    assert client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                       json={"profile": "person"}).status_code == 201
    # the signer may not apply the seal, even with the agency's certificate
    assert _prepare(client, sw, doc_id, "signer", certificate=seal_token.pem, profile="seal").status_code == 403
    # nor may the clerk before the number (Decree 30: numbering, then the seal)
    r = _prepare(client, sw, doc_id, "clerk", certificate=seal_token.pem, profile="seal")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_registered"
    register(client, sw, doc_id)
    prepared = _prepare(client, sw, doc_id, "clerk", certificate=seal_token.pem, profile="seal").get_json()
    done = _complete(client, sw, prepared["session_id"], seal_token.sign_digest(prepared["digest"]), who="clerk")
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["document"]["state"] == "sealed"
    report = verify(content(client, sw, doc_id), trust_roots=trust_roots(settings))
    assert report.indication == "PASSED", report.to_json()
    assert [s.signer.name for s in report.signatures] == [SIGNER_NAME, agency_name]


def test_two_completes_at_once_make_one_revision(client, app, engine, signing_world, held):
    import threading

    sw = signing_world
    doc_id = upload(client, sw)
    prepared = _prepare(client, sw, doc_id, certificate=held.pem, profile="person", level="B-B").get_json()
    signature = held.sign_digest(prepared["digest"])
    barrier, results = threading.Barrier(2), []

    def go() -> None:
        with app.test_client() as c:
            barrier.wait()
            results.append(_complete(c, sw, prepared["session_id"], signature).status_code)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [201, 409], results
    with session_scope(engine) as s:
        assert [r.seq for r in s.exec(select(Revision).where(Revision.document_id == doc_id))] == [1, 2]
