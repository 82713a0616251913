"""An attachment added while the document is being sealed: the seal is refused (409) and no
revision, state or attachment row changes — the attachments a seal covers are those it signed."""
from __future__ import annotations

import io

import pytest

from errors import Conflict
from exchange.services import attachments, registers, signatures
from tests.db import services_of
from tests.exchange_fixtures import caller_for, snapshot
from tests.signing_world import pki_template, signing_world, upload  # noqa: F401 (fixtures)


def test_an_attachment_added_during_the_seal_refuses_it(client, app, engine, signing_world, monkeypatch):
    sw = signing_world
    svc = services_of(app)
    doc_id = upload(client, sw)
    clerk = caller_for(sw.world, "clerk")
    attachments.add_attachment(svc, clerk, doc_id, io.BytesIO(b"a;b\n1;2\n"), "bang-ke.csv")
    signatures.sign_revision(svc, caller_for(sw.world, "signer"), doc_id, profile="person", level="B-B")
    registers.register_outgoing(svc, clerk, doc_id)  # Decree 30: numbered before the seal
    real_seal_all = attachments.seal_all

    def another_clerk_attaches_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        sealed = real_seal_all(*args, **kwargs)
        attachments.add_attachment(svc, clerk, doc_id, io.BytesIO(b"late"), "muon.txt")
        nonlocal before
        before = snapshot(engine, app)
        return sealed

    before: dict = {}
    monkeypatch.setattr(attachments, "seal_all", another_clerk_attaches_meanwhile)
    with pytest.raises(Conflict) as refused:
        signatures.sign_revision(svc, clerk, doc_id, profile="seal", level="B-B")
    assert refused.value.code == "revision_conflict"
    after = snapshot(engine, app)
    # the seal's own blobs may stay, unreferenced (content-addressed, harmless); no row changed
    assert {k: v for k, v in after.items() if k != "_blobs"} == {k: v for k, v in before.items() if k != "_blobs"}

    monkeypatch.setattr(attachments, "seal_all", real_seal_all)
    signed = signatures.sign_revision(svc, clerk, doc_id, profile="seal", level="B-B")
    assert signed.document.state == "sealed"
    listed = attachments.list_attachments(svc, clerk, doc_id)["items"]
    assert [(a["name"], a["signature"] is not None) for a in listed] == [("bang-ke.csv", True), ("muon.txt", True)]
