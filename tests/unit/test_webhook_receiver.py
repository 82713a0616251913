"""client/webhook_receiver.py (the helper agencies run): signatures, replays, duplicates, as a
function, a WSGI app and an http.server handler. Signed as the server signs (exchange.services.webhooks)."""
from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from client.webhook_receiver import InvalidSignature, SeenEvents, WebhookReceiver, make_server, sign, verify
from exchange.services import webhooks as server_headers
from exchange.services.webhooks import signature as server_signature

SECRET = "whsec_test-secret"
EVENT = {"id": 7, "seq": 3, "kind": "delivery.created", "at": "2026-12-04T03:00:00Z", "data": {"inbox_seq": 3}}
BODY = json.dumps(EVENT).encode()


def _headers(body: bytes = BODY, *, at: int | None = None, secret: str = SECRET, event_id: str = "7") -> dict:
    return {"Lienthong-Signature": server_signature(secret, int(time.time()) if at is None else at, body),
            "Lienthong-Event-Id": event_id}


def test_the_servers_signature_verifies_and_gives_the_event():
    assert verify(SECRET, _headers(), BODY) == EVENT
    # one function signs on both sides (the server imports the helper's), and its output is the
    # wire format agencies' own receivers check: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
    assert server_signature is sign
    assert sign(SECRET, 1764817200, BODY) == \
        "t=1764817200,v1=9b751cd7e02dee255e77c95659efb6e4db7d9a0f6485fb82bf8ccbd82728f837"
    assert (server_headers.SIGNATURE_HEADER, server_headers.EVENT_ID_HEADER) == \
        ("Lienthong-Signature", "Lienthong-Event-Id")
    # header names in any case (dicts as frameworks give them)
    assert verify(SECRET, {k.lower(): v for k, v in _headers().items()}, BODY) == EVENT


@pytest.mark.parametrize("case", ["tampered body", "wrong secret", "old", "future", "no header", "garbled",
                                  "other event id", "no v1", "superscript digit", "arabic-indic digits"])
def test_tampering_replays_and_garbage_are_refused(case):
    now = int(time.time())
    body, headers = BODY, _headers()
    if case == "tampered body":
        body = BODY.replace(b'"seq": 3', b'"seq": 4')
    elif case == "wrong secret":
        headers = _headers(secret="whsec_other")
    elif case == "old":
        headers = _headers(at=now - 301)
    elif case == "future":
        headers = _headers(at=now + 120)
    elif case == "no header":
        headers = {}
    elif case == "garbled":
        headers = {"Lienthong-Signature": "t=abc,v1=zz"}
    elif case == "other event id":
        headers = _headers(event_id="8")
    elif case == "no v1":
        headers = {"Lienthong-Signature": f"t={now}"}
    elif case == "superscript digit":  # str.isdigit() says yes, int() says no
        headers = {"Lienthong-Signature": "t=\u00b2,v1=00"}
    elif case == "arabic-indic digits":  # int() reads these: still not the header lienthong sends
        headers = {"Lienthong-Signature": "t=" + "".join(chr(0x0660 + int(d)) for d in str(now)) + ",v1=00"}
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, body)


def test_within_five_minutes_and_a_little_skew_is_accepted():
    now = int(time.time())
    assert verify(SECRET, _headers(at=now - 290), BODY)["id"] == 7
    assert verify(SECRET, _headers(at=now + 10), BODY)["id"] == 7


def _wsgi(app, headers: dict, body: bytes, method: str = "POST") -> tuple[str, dict]:
    environ = {"REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}}
    got: dict = {}
    answer = b"".join(app(environ, lambda status, _headers: got.setdefault("status", status)))
    return got["status"], json.loads(answer)


def test_as_a_wsgi_app_each_event_is_handled_once_and_a_failing_handler_answers_500(tmp_path):
    handled: list[int] = []
    failing = {"on": True}

    def handle(event):  # type: ignore[no-untyped-def]
        if failing["on"]:
            raise RuntimeError("database down")
        handled.append(event["id"])

    app = WebhookReceiver(SECRET, handle, seen_path=tmp_path / "seen.txt")
    assert _wsgi(app, _headers(), BODY)[0].startswith("500")  # not marked seen: the retry is handled
    failing["on"] = False
    assert _wsgi(app, _headers(), BODY) == ("200 OK", {"ok": True})
    assert _wsgi(app, _headers(), BODY) == ("200 OK", {"duplicate": True})
    assert handled == [7]
    assert _wsgi(app, _headers(at=int(time.time()) - 600), BODY)[0].startswith("400")
    assert _wsgi(app, {}, b"", method="GET")[0].startswith("405")
    assert _wsgi(app, {"Lienthong-Signature": "t=\u00b2,v1=00"}, BODY)[0].startswith("400")
    # a restarted receiver still knows what it handled
    again = WebhookReceiver(SECRET, handle, seen_path=tmp_path / "seen.txt")
    assert _wsgi(again, _headers(), BODY)[1] == {"duplicate": True} and handled == [7]


def test_seen_events_keep_the_newest_ids_only():
    seen = SeenEvents(limit=2)
    for i in (1, 2, 3):
        seen.add(i)
    assert 1 not in seen and 2 in seen and "3" in seen


def test_as_an_http_server_on_loopback():
    handled: list[int] = []
    server = make_server(WebhookReceiver(SECRET, lambda e: handled.append(e["id"])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        r = urllib.request.urlopen(urllib.request.Request(url, data=BODY, headers=_headers()), timeout=5)
        assert r.status == 200 and json.loads(r.read()) == {"ok": True}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, data=BODY + b" ", headers=_headers()), timeout=5)
        assert refused.value.code == 400
        assert handled == [7]
    finally:
        server.shutdown()
        server.server_close()
