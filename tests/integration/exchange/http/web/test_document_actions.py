"""A document's page acts through the same services as the API: the official signs, the
clerk numbers and seals it and sends it to two communes, then sees each recipient's status.
Another agency's user can do none of it (and learns nothing); a refusal is said in words."""
from __future__ import annotations

import re

import sqlalchemy as sa

from exchange.models import Delivery, Document
from tests.db import session_scope
from tests.exchange_fixtures import snapshot
from tests.integration.exchange.http.web.test_foundation import BROWSER, csrf_of, log_in
from tests.integration.exchange.http.web.test_outgoing import FIELDS, post_upload
from tests.letters import SIGNER, cong_van
from tests.signing_world import pki_template, signing_world  # noqa: F401 (fixtures)


def _switch(client, world, who: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    if 'name="csrf-token"' in page:
        client.post("/logout", data={"csrf_token": csrf_of(page)})
    return log_in(client, world, who)


def _state(engine, doc: int) -> str:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return s.get(Document, doc).state


def test_sign_number_seal_and_send_from_the_document_page(app, client, signing_world, engine):
    world = signing_world.world
    csrf = log_in(client, world, "clerk")
    r = post_upload(client, csrf, FIELDS, pdf=cong_van(name=SIGNER))
    doc = int(r.headers["Location"].rsplit("/", 1)[1])
    assert "Ký với tư cách người có thẩm quyền" not in client.get(f"/documents/{doc}").get_data(as_text=True)

    csrf = _switch(client, world, "signer")
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert "Ký với tư cách người có thẩm quyền" in page
    assert client.post(f"/documents/{doc}/sign", data={"csrf_token": csrf}).status_code == 303
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert "Văn bản đã được ký" in page and _state(engine, doc) == "signed"

    csrf = _switch(client, world, "clerk")
    assert client.post(f"/documents/{doc}/register", data={"csrf_token": csrf}).status_code == 303
    assert client.post(f"/documents/{doc}/seal", data={"csrf_token": csrf}).status_code == 303
    assert _state(engine, doc) == "sealed"
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    communes = world.communes[world.districts[0]][:2]
    for _ in range(2):  # a resent form (a double click) is one dispatch
        sent = client.post(f"/documents/{doc}/dispatch", data={"csrf_token": csrf, "to": communes,
                                                               "idempotency_key": key})
        assert sent.status_code == 303
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Delivery)).scalar() == 2
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert all(code in page for code in communes) and "chưa nhận" in page and "queued" not in page and _state(engine, doc) == "sent"


def test_another_agency_can_do_nothing_to_the_document(app, client, signing_world, engine):
    world = signing_world.world
    csrf = log_in(client, world, "clerk")
    doc = int(post_upload(client, csrf, FIELDS, pdf=cong_van(name=SIGNER)).headers["Location"].rsplit("/", 1)[1])
    csrf = _switch(client, world, "other_signer")
    before = snapshot(engine, app)
    r = client.post(f"/documents/{doc}/sign", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert client.get(f"/documents/{doc}", headers=BROWSER).status_code == 404
    assert snapshot(engine, app) == before
    csrf = _switch(client, world, "other_clerk")
    before = snapshot(engine, app)
    for action in ("register", "seal", "dispatch", "recall"):
        client.post(f"/documents/{doc}/{action}", data={"csrf_token": csrf, "to": [world.province]})
    assert snapshot(engine, app) == before
    assert FIELDS["subject"] not in client.get("/", headers=BROWSER).get_data(as_text=True)


def test_a_refusal_is_said_in_words_and_changes_nothing(app, client, signing_world, engine):
    world = signing_world.world
    csrf = log_in(client, world, "clerk")
    doc = int(post_upload(client, csrf, FIELDS, pdf=cong_van(name=SIGNER)).headers["Location"].rsplit("/", 1)[1])
    before = snapshot(engine, app)
    assert client.post(f"/documents/{doc}/seal", data={"csrf_token": csrf}).status_code == 303  # not signed yet
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert 'class="alert error"' in page
    assert snapshot(engine, app) == before
    assert client.post(f"/documents/{doc}/sign", data={"csrf_token": csrf}, headers=BROWSER).status_code == 403


def _stamp_rect(data: bytes) -> list[float]:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    (signature,) = PdfFileReader(io.BytesIO(data)).embedded_signatures
    return [float(v) for v in signature.sig_field["/Rect"]]


def test_the_stamp_goes_where_the_official_clicked(app, client, signing_world, engine):
    world = signing_world.world
    csrf = log_in(client, world, "clerk")
    doc = int(post_upload(client, csrf, FIELDS, pdf=cong_van(name=SIGNER)).headers["Location"].rsplit("/", 1)[1])
    csrf = _switch(client, world, "signer")
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert 'id="sign-form"' in page and "placement.js" in page and "data-placeable" in page
    bad = client.post(f"/documents/{doc}/sign", data={"csrf_token": csrf, "stamp_page": "1", "stamp_x": "nan",
                                                      "stamp_y": "200"})
    assert bad.status_code == 303 and _state(engine, doc) == "draft"
    assert client.post(f"/documents/{doc}/sign", data={"csrf_token": csrf, "stamp_page": "1", "stamp_x": "300",
                                                       "stamp_y": "200"}).status_code == 303
    assert _state(engine, doc) == "signed"
    pdf = client.get(f"/api/v1/documents/{doc}/content", headers=world.headers("signer")).data
    x1, y1, x2, y2 = _stamp_rect(pdf)
    assert (round(x1), round(y1), round(x2), round(y2)) == (200, 160, 400, 240)
