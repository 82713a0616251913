"""The exchange's "Done when", end to end over real HTTP (werkzeug server on 127.0.0.1):

a province clerk uploads, the signer signs, the clerk seals and dispatches to three communes
(and a fourth); each commune's system long-polls, downloads (bytes equal the dispatched
revision), acks (a receipt that verifies with the published key), moves the status to 03;
the sender sees all three; a district forwards to its two communes and the province sees
both hops; a recall takes back the fourth commune's copy at once (it had not acked).
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from datetime import date

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from exchange.services import accounts as users
from exchange.services import receipts
from storage.db import make_engine
from tests.db import session_scope
from tests.e2e.test_signing_http import _sign, _upload, live  # noqa: F401  (the live server fixture)
from tests.exchange_fixtures import auth
from tests.integration.exchange.delivery_support import add_agency
from tests.signing_world import build_signing_world

pytestmark = pytest.mark.e2e
FOURTH = "000.06.01.H62"


def _public_key(url: str) -> ec.EllipticCurvePublicKey:
    jwk = requests.get(f"{url}/api/v1/receipts/key", timeout=10).json()["jwk"]
    coord = lambda v: int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")  # noqa: E731
    return ec.EllipticCurvePublicNumbers(coord(jwk["x"]), coord(jwk["y"]), ec.SECP256R1()).public_key()


def _long_poll(url: str, token: str, results: dict, key: str) -> None:
    started = time.monotonic()
    r = requests.get(f"{url}/api/v1/inbox", params={"wait": 30}, headers=auth(token), timeout=60)
    results[key] = (r.status_code, r.json(), time.monotonic() - started)


def test_upload_sign_seal_dispatch_poll_download_ack_status_forward_recall(live):  # noqa: F811
    url = live.url
    engine = make_engine(live.settings.effective_database_url)
    sw = build_signing_world(engine, live.settings)
    w = sw.world
    with session_scope(engine, write=True) as session:
        fourth = add_agency(session, FOURTH, w.districts[0], valid_from=date(2020, 1, 1))
        _, fourth_token = users.add_token(session, agency_id=fourth.id, name="system", actor="test")
    engine.dispose()
    three = w.communes[w.districts[0]]
    district = w.districts[1]
    tokens = {**w.agency_tokens, FOURTH: fourth_token}

    doc = _upload(live, sw, "Công văn gửi các xã")
    assert _sign(live, sw, doc, "signer", profile="person").status_code == 201
    numbered = requests.post(f"{live.url}/api/v1/documents/{doc}/register", headers=sw.headers("clerk"), json={},
                             timeout=60)
    assert numbered.status_code == 200, numbered.text
    sealed = _sign(live, sw, doc, "clerk", profile="seal")
    assert sealed.status_code == 201, sealed.text
    sealed_sha = sealed.json()["revision"]["sha256"]

    # every recipient's system is already waiting when the dispatch commits
    results: dict = {}
    pollers = [threading.Thread(target=_long_poll, args=(url, tokens[code], results, code))
               for code in [*three, FOURTH, district]]
    for t in pollers:
        t.start()
    time.sleep(0.5)
    clerk = w.headers("clerk")
    sent = requests.post(f"{url}/api/v1/documents/{doc}/dispatches", headers={**clerk, "Idempotency-Key": "cv-1"},
                         json={"to": [*three, FOURTH, district]}, timeout=30)
    assert sent.status_code == 201, sent.text
    assert sorted(d["recipient"] for d in sent.json()["deliveries"]) == sorted([*three, FOURTH, district])
    for t in pollers:
        t.join(60)

    key = _public_key(url)
    for code in [*three, district]:
        status, body, elapsed = results[code]
        assert status == 200 and len(body["items"]) == 1, body
        assert elapsed < 20  # woken by the dispatch, not by the end of the wait
        item = body["items"][0]
        assert item["sender"] == w.province and item["document"]["sha256"] == sealed_sha
        pdf = requests.get(f"{url}{item['content_url']}", headers=auth(tokens[code]), timeout=30)
        assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == sealed_sha
        ack = requests.post(f"{url}/api/v1/inbox/{item['delivery_id']}/ack", headers=auth(tokens[code]), timeout=30)
        assert ack.status_code == 200, ack.text
        receipt = ack.json()["receipt"]
        assert receipts.verify(receipt, key) and receipt["document_sha256"] == sealed_sha
        assert receipt["recipient"] == code and "incoming_number" not in ack.json()
        if code in three:
            moved = requests.post(f"{url}/api/v1/inbox/{item['delivery_id']}/status", headers=auth(tokens[code]),
                                  json={"status": "accepted"}, timeout=30)
            assert moved.json() == {"id": item["delivery_id"], "status": "accepted", "code": "03",
                                    "incoming_number": 1}
    assert results[FOURTH][0] == 200 and len(results[FOURTH][1]["items"]) == 1

    seen = requests.get(f"{url}/api/v1/documents/{doc}/deliveries", headers=clerk, timeout=30).json()["deliveries"]
    by_code = {d["recipient"]: d for d in seen}
    assert all((by_code[c]["status"], by_code[c]["code"]) == ("accepted", "03") for c in three)
    assert by_code[FOURTH]["status"] == "queued"

    # the district sends it on to its two communes; the file stays byte-identical
    incoming = results[district][1]["items"][0]["delivery_id"]
    fwd = requests.post(f"{url}/api/v1/inbox/{incoming}/forward",
                        headers={**auth(tokens[district]), "Idempotency-Key": "fwd-1"},
                        json={"children_of": district, "level": "commune"}, timeout=30)
    assert fwd.status_code == 201, fwd.text
    for code in w.communes[district]:
        page = requests.get(f"{url}/api/v1/inbox", headers=auth(tokens[code]), timeout=30).json()
        item = page["items"][0]
        assert [hop["agency"] for hop in item["trace"]] == [w.province, district]
        pdf = requests.get(f"{url}{item['content_url']}", headers=auth(tokens[code]), timeout=30)
        assert hashlib.sha256(pdf.content).hexdigest() == sealed_sha
    seen = requests.get(f"{url}/api/v1/documents/{doc}/deliveries", headers=clerk, timeout=30).json()["deliveries"]
    hops = sorted((d["recipient"], d["hop"], d["sender"]) for d in seen if d["hop"] == 2)
    assert hops == sorted((c, 2, district) for c in w.communes[district])

    # recall: the fourth had not acked, so its copy is taken back at once (15)
    recall = requests.post(f"{url}/api/v1/documents/{doc}/recall", headers=clerk, json={"reason": "Sai số"},
                           timeout=30)
    assert recall.status_code == 200, recall.text
    fourth_view = requests.get(f"{url}/api/v1/inbox", headers=auth(tokens[FOURTH]), timeout=30).json()["items"][0]
    assert (fourth_view["status"], fourth_view["code"]) == ("recalled", "15")
    # never fetched: a tombstone (id, status), not the subject and metadata
    assert set(fourth_view) == {"delivery_id", "seq", "status", "code"}
    gone = requests.get(f"{url}/api/v1/documents/{doc}/content", headers=auth(tokens[FOURTH]), timeout=30)
    assert gone.status_code == 404
    acked = results[three[0]][1]["items"][0]["delivery_id"]
    decided = requests.post(f"{url}/api/v1/inbox/{acked}/recall-decision", headers=auth(tokens[three[0]]),
                            json={"accept": True}, timeout=30)
    assert decided.json()["code"] == "15"
    history = {d["recipient"]: d for d in requests.get(f"{url}/api/v1/documents/{doc}/deliveries", headers=clerk,
                                                       timeout=30).json()["deliveries"]}
    assert [h["code"] for h in history[FOURTH]["history"]] == [None, "13", "15"]
    assert [h["code"] for h in history[three[0]]["history"]] == [None, "01", "03", "13", "15"]
    assert json.dumps(history)  # the whole view is plain JSON
