"""Server-side signatures over HTTP (Flask test client): person (signer) then seal (clerk),
who may sign what, and refusals that change nothing."""
from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from certs.issuance import revoke
from certs.models import Credential
from certs.trust import trust_roots
from exchange.services import signatures
from exchange.models import AuditEvent, Revision
from signing.verify import verify
from storage.blobs import read_bytes
from errors import Conflict
from tests.db import services_of, session_scope, store_from_app
from tests.exchange_fixtures import caller_for, snapshot
from tests.signing_world import (content, issue_credentials, pki_template, register,  # noqa: F401 (fixtures)
                                 signing_world, upload)


def _sign(client, sw, doc_id, who, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers(who), json=body)


def test_person_then_seal_makes_two_revisions_that_verify(client, app, engine, settings, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)

    r = _sign(client, sw, doc_id, "signer", profile="person")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["revision"]["seq"] == 2 and body["revision"]["profile"] == "person"
    assert body["revision"]["level"] == "B-LT"  # the default
    assert body["revision"]["credential_id"] == sw.credentials["signer"]
    assert body["revision"]["signer"]["name"] == "Trần Văn Ánh"
    assert body["document"]["state"] == "signed"
    assert [(v["seq"], v["kind"]) for v in body["document"]["revisions"]] == [(1, "original"), (2, "signed")]

    register(client, sw, doc_id)  # this letter leaves no room for the number: no new revision
    r = _sign(client, sw, doc_id, "clerk", profile="seal", level="B-LTA")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["document"]["state"] == "sealed" and body["revision"]["seq"] == 3
    assert body["revision"]["credential_id"] == sw.credentials["seal"]
    assert [s["profile"] for s in body["signatures"]] == ["person", "seal"]

    data = content(client, sw, doc_id)
    signed_once = client.get(f"/api/v1/documents/{doc_id}/content?revision=2", headers=sw.headers("clerk")).data
    assert data.startswith(signed_once)  # an incremental update: the person's revision is kept byte for byte
    report = verify(data, trust_roots=trust_roots(settings))
    assert report.indication == "PASSED", report.to_json()
    # B-LTA ends with a document timestamp (the TSA's): the two signatures come first
    assert [s.signer.name for s in report.signatures][:2] == ["Trần Văn Ánh", "UBND tỉnh Thử Nghiệm"]
    assert [s.field for s in report.signatures][:2] == ["Person1", "Seal2"]

    with session_scope(engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]
    assert actions[-3:] == ["document.sign.person", "document.register", "document.sign.seal"]

    listed = client.get(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("auditor"))
    assert listed.status_code == 200
    assert [(s["seq"], s["profile"], s["signer"]["name"]) for s in listed.get_json()["signatures"]] == [
        (2, "person", "Trần Văn Ánh"), (3, "seal", "UBND tỉnh Thử Nghiệm")]

    # sealed is final: no further signature, nothing changes
    before = snapshot(engine, app)
    again = _sign(client, sw, doc_id, "signer", profile="person")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "document_closed"
    assert snapshot(engine, app) == before


def test_seal_without_a_person_signature_is_refused_and_changes_nothing(client, app, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    before = snapshot(engine, app)
    r = _sign(client, sw, doc_id, "clerk", profile="seal")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "seal_refused", r.get_json()
    assert snapshot(engine, app) == before


def test_another_agency_gets_404_and_roles_are_enforced(client, app, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    before = snapshot(engine, app)
    for who, profile in (("other_clerk", "seal"), ("other_signer", "person"), ("district_clerk", "seal")):
        r = _sign(client, sw, doc_id, who, profile=profile)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found", (who, r.get_json())
        assert client.get(f"/api/v1/documents/{doc_id}/signatures",
                          headers=sw.headers(who)).status_code == 404
    assert _sign(client, sw, doc_id, "clerk", profile="person").status_code == 403  # a clerk signs no person
    assert _sign(client, sw, doc_id, "signer", profile="seal").status_code == 403  # a signer applies no seal
    assert _sign(client, sw, doc_id, "auditor", profile="person").status_code == 403
    assert _sign(client, sw, doc_id, "norole", profile="person").status_code == 403
    assert client.post(f"/api/v1/documents/{doc_id}/signatures", json={"profile": "person"}).status_code == 401
    assert snapshot(engine, app) == before


def test_someone_elses_credential_is_404_and_ones_own_can_be_named(client, app, engine, settings, signing_world):
    sw = signing_world
    issue_credentials(engine, settings, sw, "other_signer", "other_seal")
    doc_id = upload(client, sw)
    before = snapshot(engine, app)
    for cred in ("other_signer", "seal", "other_seal"):
        r = _sign(client, sw, doc_id, "signer", profile="person", credential_id=sw.credentials[cred])
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "credential_not_found", cred
    r = _sign(client, sw, doc_id, "clerk", profile="seal", credential_id=sw.credentials["other_seal"])
    assert r.status_code == 404
    assert snapshot(engine, app) == before
    r = _sign(client, sw, doc_id, "signer", profile="person", credential_id=sw.credentials["signer"], level="B-T")
    assert r.status_code == 201 and r.get_json()["revision"]["level"] == "B-T"


def test_bad_options_are_422(client, app, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    before = snapshot(engine, app)
    for body in ({"profile": "notary"}, {"profile": "person", "level": "B-XL"}, {},
                 {"profile": "person", "page": 1}, {"profile": "person", "box": [1, 2, 3]},
                 {"profile": "person", "page": 9, "box": [50, 50, 250, 120]},
                 {"profile": "person", "box": [50, 50, 55, 55]}):
        r = _sign(client, sw, doc_id, "signer", **body)
        assert r.status_code == 422, (body, r.get_json())
        assert r.get_json()["error"].get("fields"), body
    assert snapshot(engine, app) == before


def test_the_stamp_goes_where_asked(client, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    r = _sign(client, sw, doc_id, "signer", profile="person", level="B-B", page=1, box=[60, 500, 300, 600])
    assert r.status_code == 201, r.get_json()
    from pyhanko.pdf_utils.reader import PdfFileReader
    import io

    reader = PdfFileReader(io.BytesIO(content(client, sw, doc_id)))
    sig = reader.embedded_regular_signatures[0]
    rect = [float(v) for v in sig.sig_field["/Rect"]] if "/Rect" in sig.sig_field else None
    assert rect == [60.0, 500.0, 300.0, 600.0]
    first_page = reader.root["/Pages"]["/Kids"][0]
    assert any(a.get_object().get("/FT") == "/Sig" or "/Rect" in a.get_object()
               for a in first_page.get("/Annots", []))


def test_a_revoked_credential_is_refused_with_a_clear_message(client, app, engine, settings, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    with session_scope(engine, write=True) as s:
        revoke(s, settings, s.get(Credential, sw.credentials["signer"]).serial, "keyCompromise")
    before = snapshot(engine, app)
    r = _sign(client, sw, doc_id, "signer", profile="person")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "credential_revoked", r.get_json()
    assert r.get_json()["error"]["message"] == "chứng thư số của người ký đã bị thu hồi hoặc hết hạn"
    english = client.post(f"/api/v1/documents/{doc_id}/signatures", json={"profile": "person"},
                          headers={**sw.headers("signer"), "Accept-Language": "en"})
    assert english.get_json()["error"]["message"] == "the person credential is revoked or expired"
    r = _sign(client, sw, doc_id, "signer", profile="person", credential_id=sw.credentials["signer"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "credential_revoked"
    assert snapshot(engine, app) == before


def test_a_signer_without_a_credential_gets_409(client, app, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    with session_scope(engine, write=True) as s:
        for row in s.exec(select(Credential).where(Credential.owner_ref == "lanhdao.tinh")).all():
            s.delete(row)
    r = _sign(client, sw, doc_id, "signer", profile="person")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_credential"


def test_timestamp_service_down_is_503_and_changes_nothing(client, app, engine, signing_world, monkeypatch):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once we leave: nobody answers there
    monkeypatch.setattr(services_of(app), "timestamper",
                        lambda: HTTPTimeStamper(f"http://127.0.0.1:{port}/tsa", timeout=2))
    sw = signing_world
    doc_id = upload(client, sw)
    before = snapshot(engine, app)
    r = _sign(client, sw, doc_id, "signer", profile="person", level="B-T")
    assert r.status_code == 503, r.get_json()
    assert snapshot(engine, app) == before


def test_a_stale_base_revision_is_409_not_a_fork(client, app, engine, settings, signing_world):
    """The write transaction re-checks the base: a signature computed on revision 1 cannot
    land once revision 2 exists."""
    sw = signing_world
    doc_id = upload(client, sw)
    caller = caller_for(sw.world, "signer")
    with session_scope(engine) as s:
        stale = signatures.signable_base(s, caller, doc_id)
    assert _sign(client, sw, doc_id, "signer", profile="person", level="B-B").status_code == 201
    ref = store_from_app(app).put(__import__("io").BytesIO(b"%PDF-1.7 pretend signed"))
    with pytest.raises(Conflict) as err:
        with session_scope(engine, write=True) as s:
            signatures.record_signature(s, caller, stale, ref, profile="person", level="B-B", credential_id=None,
                                        action="document.sign.person")
    assert err.value.code == "revision_conflict"
    with session_scope(engine) as s:
        assert [r.seq for r in s.exec(select(Revision).where(Revision.document_id == doc_id))] == [1, 2]


def test_concurrent_signatures_never_fork_the_chain(client, app, engine, settings, signing_world):
    """Two signers of the same document at once: each request either lands on top of the
    latest revision or gets 409 — never two revisions built on the same base."""
    sw = signing_world
    doc_id = upload(client, sw)
    results: list = []
    barrier = threading.Barrier(3)

    def go() -> None:
        with app.test_client() as c:
            barrier.wait()
            r = c.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                       json={"profile": "person", "level": "B-B"})
            results.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _ in results)
    assert len(codes) == 3 and codes[0] == 201 and set(codes) <= {201, 409}, results
    assert all(body["error"]["code"] == "revision_conflict" for code, body in results if code == 409)
    with session_scope(engine) as s:
        revisions = list(s.exec(select(Revision).where(Revision.document_id == doc_id).order_by(Revision.seq)))
        blobs = [read_bytes(store_from_app(app), r.blob_sha256) for r in revisions]
    assert [r.seq for r in revisions] == list(range(1, 1 + len(revisions)))
    assert len(revisions) == 1 + codes.count(201)
    for earlier, later in zip(blobs, blobs[1:]):
        assert later.startswith(earlier)  # each revision is built on the one before it
    report = verify(blobs[-1], trust_roots=trust_roots(settings))
    assert len(report.signatures) == codes.count(201)
    assert all(s.intact for s in report.signatures), report.to_json()


def test_a_document_certified_with_no_changes_allowed_is_409(client, app, engine, settings, signing_world):
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from certs.issuance import load_signing_credential
    from tests.exchange_fixtures import make_pdf, upload_via_api

    sw = signing_world
    with session_scope(engine) as s:
        credential = load_signing_credential(s, settings, sw.credentials["signer"])
    meta = signers.PdfSignatureMetadata(field_name="Cert", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES)
    certified = signers.PdfSigner(meta, credential.signer).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(make_pdf("Đã chứng thực")))).getvalue()
    doc_id = upload_via_api(client, sw.headers("clerk"), pdf=certified).get_json()["id"]
    before = snapshot(engine, app)
    r = _sign(client, sw, doc_id, "signer", profile="person")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "document_locked", r.get_json()
    assert snapshot(engine, app) == before


def test_a_recipient_sees_the_signatures_but_not_internal_ids(client, engine, signing_world):
    sw = signing_world
    doc_id = upload(client, sw)
    assert _sign(client, sw, doc_id, "signer", profile="person", level="B-B").status_code == 201
    register(client, sw, doc_id)
    assert _sign(client, sw, doc_id, "clerk", profile="seal", level="B-B").status_code == 201
    commune = sw.world.all_communes[0]
    r = client.post(f"/api/v1/documents/{doc_id}/dispatches", json={"to": [commune]},
                    headers={**sw.headers("clerk"), "Idempotency-Key": "k1"})
    assert r.status_code in (200, 201), r.get_json()
    seen = client.get(f"/api/v1/documents/{doc_id}/signatures", headers=sw.world.headers(commune))
    assert seen.status_code == 200, seen.get_json()
    entries = seen.get_json()["signatures"]
    assert [(e["profile"], e["signer"]["name"]) for e in entries] == [
        ("person", "Trần Văn Ánh"), ("seal", "UBND tỉnh Thử Nghiệm")]
    assert all(e["signer"]["username"] is None and e["credential_id"] is None for e in entries)
    own = client.get(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("auditor")).get_json()
    assert own["signatures"][0]["signer"]["username"] == "lanhdao.tinh"
