"""The attachments service: a document sent unsigned "for information" takes no more
attachments (its recipients hold what was sent), and a refusal stores nothing."""
from __future__ import annotations

import io

import pytest

from errors import Conflict
from exchange.models import Agency
from exchange.services import attachments
from exchange.services.dispatch import Recipients, dispatch_document
from tests.db import services_of, session_scope
from tests.exchange_fixtures import caller_for, snapshot, store_document
from tests.integration.exchange.delivery_support import world as build


def test_a_draft_sent_for_information_takes_no_more_attachments(app, engine):
    w = build(engine)
    svc = services_of(app)
    with session_scope(engine, write=True) as s:
        province = s.get(Agency, w.agency_ids[w.province])
        province.allow_unsigned_info = True  # type: ignore[union-attr]
        s.add(province)
    with session_scope(engine, write=True) as s:
        doc = store_document(s, svc.blobs, w, "clerk")
    clerk = caller_for(w, "clerk")
    attachments.add_attachment(svc, clerk, doc, io.BytesIO(b"a;b\n"), "truoc-khi-gui.csv")
    dispatch_document(svc, clerk, doc, Recipients(to=(w.all_communes[0],)), "for-info-1")

    before = snapshot(engine, app)
    with pytest.raises(Conflict) as refused:
        attachments.add_attachment(svc, clerk, doc, io.BytesIO(b"late"), "sau-khi-gui.csv")
    assert refused.value.code == "document_closed" and "đã được gửi" in str(refused.value.message)
    [only] = attachments.list_attachments(svc, clerk, doc)["items"]
    with pytest.raises(Conflict):
        attachments.delete_attachment(svc, clerk, doc, only["id"])
    assert snapshot(engine, app) == before
