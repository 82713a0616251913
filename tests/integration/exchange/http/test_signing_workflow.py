"""Issue 8, items 5–7 over HTTP: the stamp goes where the letter leaves room for it, the
signer fields come from the certificate, and recipients get files that verify PASSED.

A realistic 3-page công văn (``tests.letters``) whose signature block names the signing
world's signer ("TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH / … / Trần Văn Ánh") is uploaded, signed
and sealed through the API; the page is rendered with poppler and the file checked by
pdfsig and by the recipient's own verification report."""
from __future__ import annotations

import hashlib
import shutil
import uuid

import pytest
from sqlmodel import select

from certs.issuance import issue_person_credential
from exchange.models import Agency, Revision, User
from signing.verify import verify
from tests.db import services_of, session_scope
from tests.exchange_fixtures import snapshot, upload_via_api
from tests.letters import BLOCK_CENTRE_X, PAGE_H, SIGNER, cong_van, ink, render_last_page, signature_block
from tests.pdfsig import cades, make_nss_db, pdfsig
from tests.signing_world import content, pki_template, signing_world  # noqa: F401 (fixtures)

needs_poppler = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdfsig")),
                                   reason="poppler-utils not installed")


def _upload_letter(client, sw, **metadata):  # type: ignore[no-untyped-def]
    r = upload_via_api(client, sw.headers("clerk"), pdf=cong_van(name=SIGNER), metadata=metadata or None)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _sign(client, sw, doc_id, who, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers(who), json=body)


def _seal(client, sw, doc_id, **body):  # type: ignore[no-untyped-def]
    """The clerk seals; where the service numbers documents first (Decree 30: register, then
    seal; ``POST /documents/{id}/register``, issue 8 item 1), the clerk registers it before."""
    if any(rule.rule == "/api/v1/documents/<int:document_id>/register"
           for rule in client.application.url_map.iter_rules()):
        registered = client.post(f"/api/v1/documents/{doc_id}/register", headers=sw.headers("clerk"), json={})
        assert registered.status_code in (200, 201), registered.get_json()
    return _sign(client, sw, doc_id, "clerk", profile="seal", **body)


def _dispatch(client, sw, doc_id, to):  # type: ignore[no-untyped-def]
    headers = {**sw.headers("clerk"), "Idempotency-Key": uuid.uuid4().hex}
    return client.post(f"/api/v1/documents/{doc_id}/dispatches", headers=headers, json={"to": to})


@needs_poppler
def test_person_stamp_in_the_signing_space_then_the_seal_over_it(client, settings, signing_world, tmp_path):  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = _upload_letter(client, sw)
    r = _sign(client, sw, doc_id, "signer", profile="person")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["placement"] == "signature_block" and r.get_json()["notices"] == []

    g = signature_block()
    space = (BLOCK_CENTRE_X - 110, g.name_top, BLOCK_CENTRE_X + 110, g.title_bottom)
    page = render_last_page(content(client, sw, doc_id), tmp_path)
    assert ink(page, space, "blue") > 300
    assert ink(page, (0, 0, 595, PAGE_H), "blue") == ink(page, space, "blue")  # nowhere else

    r = _seal(client, sw, doc_id)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["placement"] == "signature_block"
    sealed = content(client, sw, doc_id)
    page = render_last_page(sealed, tmp_path)
    assert ink(page, space, "red") > 300  # the seal sits on the block's signature
    assert ink(page, space, "blue") > 100  # which stays legible

    nss = make_nss_db(tmp_path / "nss", settings.data_dir / "pki" / "ca.pem")
    blocks = cades(pdfsig(nss, sealed, tmp_path))
    assert len(blocks) == 2
    assert all(b["Signature Validation"] == "Signature is Valid." for b in blocks), blocks


def test_a_box_outside_the_page_is_422_and_changes_nothing(client, app, engine, signing_world):  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = _upload_letter(client, sw)
    before = snapshot(engine, app)
    for box in ([500, 100, 700, 200], [-40, 100, 100, 200], [100, 800, 300, 900]):
        r = _sign(client, sw, doc_id, "signer", profile="person", level="B-B", box=box)
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["error"]["code"] == "box_outside_page"
    assert snapshot(engine, app) == before
    r = _sign(client, sw, doc_id, "signer", profile="person", level="B-B", page=1, box=[300, 100, 500, 180])
    assert r.status_code == 201 and r.get_json()["placement"] == "box"


def test_the_same_official_signing_twice_is_409_and_changes_nothing(client, app, engine, signing_world):  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = _upload_letter(client, sw)
    assert _sign(client, sw, doc_id, "signer", profile="person", level="B-B").status_code == 201
    before = snapshot(engine, app)
    r = _sign(client, sw, doc_id, "signer", profile="person", level="B-B")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_signed", r.get_json()
    assert snapshot(engine, app) == before
    # another agency's signer cannot sign it at all: it does not exist for them
    r = _sign(client, sw, doc_id, "other_signer", profile="person", level="B-B")
    assert r.status_code == 404


def test_signer_fields_come_from_the_certificate_and_the_clerk_is_told(client, signing_world):  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = _upload_letter(client, sw, signer_name="Tran Van Anh", signer_position="Phó Chủ tịch")
    r = _sign(client, sw, doc_id, "signer", profile="person", level="B-B")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["document"]["signer_name"] == SIGNER and body["document"]["signer_position"] == "Chủ tịch"
    notices = {n["code"]: n for n in body["notices"]}
    assert set(notices) == {"signer_name_replaced", "signer_position_replaced"}
    assert notices["signer_name_replaced"]["typed"] == "Tran Van Anh"
    assert notices["signer_name_replaced"]["value"] == SIGNER
    assert "Tran Van Anh" in notices["signer_name_replaced"]["message"]
    # the block was still found: the certificate's name and title are printed in the letter
    assert body["placement"] == "signature_block"
    stored = client.get(f"/api/v1/documents/{doc_id}", headers=sw.headers("clerk"))
    assert stored.get_json()["signer_name"] == SIGNER

    # a recipient reads the certificate's values in its inbox
    assert _seal(client, sw, doc_id, level="B-LT").status_code == 201
    commune = sw.world.all_communes[0]
    assert _dispatch(client, sw, doc_id, [commune]).status_code == 201
    inbox = client.get("/api/v1/inbox", headers=sw.headers(commune)).get_json()
    [item] = [i for i in inbox["items"] if i["document"]["id"] == doc_id]
    assert (item["document"]["signer_name"], item["document"]["signer_position"]) == (SIGNER, "Chủ tịch")


def test_same_values_in_another_case_are_no_notice(client, signing_world):  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = _upload_letter(client, sw, signer_name="TRẦN VĂN ÁNH", signer_position="chủ tịch")
    body = _sign(client, sw, doc_id, "signer", profile="person", level="B-B").get_json()
    assert body["notices"] == []
    assert (body["document"]["signer_name"], body["document"]["signer_position"]) == (SIGNER, "Chủ tịch")


def test_a_certificate_without_a_title_keeps_the_typed_position(client, engine, settings, signing_world):  # type: ignore[no-untyped-def]
    sw = signing_world
    person = sw.world.people["signer"]
    with session_scope(engine, write=True) as s:
        user = s.get(User, person.id)
        agency = s.get(Agency, person.agency_id)
        issue_person_credential(s, settings, username=user.username, full_name=user.full_name,  # type: ignore[union-attr]
                                position="", agency_code=agency.code, agency_name=agency.name)  # type: ignore[union-attr]
    doc_id = _upload_letter(client, sw, signer_position="Chủ tịch")
    body = _sign(client, sw, doc_id, "signer", profile="person", level="B-B").get_json()
    assert body["document"]["signer_position"] == "Chủ tịch" and body["notices"] == []
    assert body["placement"] == "signature_block"  # found by the typed title


@pytest.mark.parametrize("level", ["B-B", "B-T"])
def test_a_document_sealed_without_revocation_data_gets_it_before_dispatch(client, app, engine, signing_world, level):  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = _upload_letter(client, sw)
    assert _sign(client, sw, doc_id, "signer", profile="person", level="B-T").status_code == 201
    r = _seal(client, sw, doc_id, level=level)
    assert r.status_code == 201, r.get_json()
    sealed_seq = r.get_json()["revision"]["seq"]
    # as sealed, a recipient validating offline elsewhere (no knowledge of our CA's revocations,
    # which this service applies itself) could not tell whether the certificates are revoked
    sealed_pdf = client.get(f"/api/v1/documents/{doc_id}/content?revision={sealed_seq}", headers=sw.headers("clerk"))
    offline = verify(sealed_pdf.data, trust_roots=services_of(app).trust.roots())
    assert offline.indication == "INDETERMINATE", offline.to_json()

    # another agency's clerk cannot send it, and gets nothing added to it either
    before = snapshot(engine, app)
    other = client.post(f"/api/v1/documents/{doc_id}/dispatches", json={"to": [sw.world.all_communes[0]]},
                        headers={**sw.headers("other_clerk"), "Idempotency-Key": uuid.uuid4().hex})
    assert other.status_code == 404, other.get_json()
    assert snapshot(engine, app) == before

    commune = sw.world.all_communes[0]
    r = _dispatch(client, sw, doc_id, [commune])
    assert r.status_code == 201, r.get_json()
    with session_scope(engine) as s:
        revisions = s.exec(select(Revision).where(Revision.document_id == doc_id).order_by(Revision.seq)).all()
        kinds = [(rev.seq, rev.kind) for rev in revisions]
    assert kinds[-1] == (sealed_seq + 1, "validation_data")

    report = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers(commune)).get_json()
    assert report["indication"] == "PASSED", report
    assert [s["indication"] for s in report["signatures"]] == ["PASSED", "PASSED"]
    received = content(client, sw, doc_id, commune)
    assert hashlib.sha256(received).hexdigest() == revisions[-1].blob_sha256  # the file with the data
    # a second dispatch sends the same file: nothing more to add
    assert _dispatch(client, sw, doc_id, [sw.world.all_communes[1]]).status_code == 201
    with session_scope(engine) as s:
        assert len(s.exec(select(Revision).where(Revision.document_id == doc_id)).all()) == len(kinds)


def test_a_document_sealed_at_b_lt_is_sent_as_it_is(client, engine, signing_world):  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = _upload_letter(client, sw)
    assert _sign(client, sw, doc_id, "signer", profile="person", level="B-T").status_code == 201
    assert _seal(client, sw, doc_id).status_code == 201  # default B-LT, backfills
    commune = sw.world.all_communes[0]
    assert _dispatch(client, sw, doc_id, [commune]).status_code == 201
    with session_scope(engine) as s:
        kinds = [rev.kind for rev in s.exec(select(Revision).where(Revision.document_id == doc_id)).all()]
    assert "validation_data" not in kinds
    report = client.get(f"/api/v1/documents/{doc_id}/verification", headers=sw.headers(commune)).get_json()
    assert report["indication"] == "PASSED", report


def test_revocation_service_down_refuses_the_dispatch_and_changes_nothing(client, app, engine, signing_world,  # type: ignore[no-untyped-def]
                                                                          monkeypatch):
    from pyhanko_certvalidator import ValidationContext

    sw = signing_world
    doc_id = _upload_letter(client, sw)
    assert _sign(client, sw, doc_id, "signer", profile="person", level="B-B").status_code == 201
    assert _seal(client, sw, doc_id, level="B-B").status_code == 201
    svc = services_of(app)
    roots = svc.trust.roots()
    # the OCSP/CRL answers cannot be had (a context that may fetch nothing, so nothing answers)
    monkeypatch.setattr(svc, "validation_context", lambda **_: ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="hard-fail", crls=[], ocsps=[]))
    before = snapshot(engine, app)
    r = _dispatch(client, sw, doc_id, [sw.world.all_communes[0]])
    assert r.status_code == 503, r.get_json()
    assert r.get_json()["error"]["code"] == "revocation_unavailable"
    assert snapshot(engine, app) == before


def test_remote_signing_places_the_stamp_in_the_block_and_takes_the_certificates_fields(  # type: ignore[no-untyped-def]
        client, settings, signing_world):
    from tests.signing_world import issue_held_key

    sw = signing_world
    held = issue_held_key(settings, full_name=SIGNER, agency_code=sw.world.province,
                          agency_name="UBND tỉnh Thử Nghiệm", title="Chủ tịch")
    doc_id = _upload_letter(client, sw, signer_name="Trần Văn Anh")
    prepared = client.post(f"/api/v1/documents/{doc_id}/signatures/prepare", headers=sw.headers("signer"),
                           json={"certificate": held.pem, "profile": "person", "level": "B-B"})
    assert prepared.status_code == 201, prepared.get_json()
    assert prepared.get_json()["placement"] == "signature_block"
    done = client.post(f"/api/v1/signing-sessions/{prepared.get_json()['session_id']}/complete",
                       headers=sw.headers("signer"),
                       json={"signature": held.sign_digest(prepared.get_json()["digest"])})
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["placement"] == "signature_block"
    assert [(n["code"], n["typed"], n["value"]) for n in body["notices"]] == [
        ("signer_name_replaced", "Trần Văn Anh", SIGNER)]
    assert body["document"]["signer_name"] == SIGNER
    # and once signed remotely, the same official cannot sign it again on the server
    again = _sign(client, sw, doc_id, "signer", profile="person", level="B-B")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_signed"
