"""One time format in every API answer: RFC 3339, UTC, whole seconds, ``Z``. Walks the answers
of a document's life (upload, signatures, verification, dispatch, inbox, receipt, the
sender's view, the audit trail, a remote-signing session) and checks every time in them."""
from __future__ import annotations

import re
from typing import Any, Iterator

from tests.signing_world import issue_held_key, pki_template, signing_world, upload  # noqa: F401 (fixtures)

API_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# anything that might be meant as a time: ISO 8601 with a time of day, or an HTTP date
TIME_LIKE = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d|^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:")


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def _times(answers: dict[str, Any]) -> dict[str, str]:
    return {f"{name}{path}": text for name, body in answers.items() for path, text in _strings(body)
            if TIME_LIKE.match(text)}


def test_every_time_in_the_answers_has_the_one_format(client, settings, signing_world):
    sw = signing_world
    commune = sw.world.all_communes[0]
    answers: dict[str, Any] = {}

    def call(name: str, method: str, url: str, who: str = "clerk", **kwargs: Any) -> Any:
        response = client.open(url, method=method, headers={**sw.headers(who), **kwargs.pop("headers", {})},
                               **kwargs)
        assert response.status_code < 300, (name, response.get_json())
        answers[name] = response.get_json()
        return answers[name]

    doc_id = upload(client, sw)
    call("document", "GET", f"/api/v1/documents/{doc_id}")
    call("sign_person", "POST", f"/api/v1/documents/{doc_id}/signatures", "signer", json={"profile": "person"})
    call("register", "POST", f"/api/v1/documents/{doc_id}/register", json={})
    call("sign_seal", "POST", f"/api/v1/documents/{doc_id}/signatures", json={"profile": "seal"})
    call("signatures", "GET", f"/api/v1/documents/{doc_id}/signatures")
    call("verification", "GET", f"/api/v1/documents/{doc_id}/verification", headers={"Accept": "application/json"})
    call("documents", "GET", "/api/v1/documents")
    call("dispatch", "POST", f"/api/v1/documents/{doc_id}/dispatches", json={"to": [commune]},
         headers={"Idempotency-Key": "k1"})
    inbox = call("inbox", "GET", "/api/v1/inbox", commune)
    delivery_id = inbox["items"][0]["delivery_id"]
    call("ack", "POST", f"/api/v1/inbox/{delivery_id}/ack", commune)
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=sw.headers(commune)).data  # read whole: fetched_at
    call("status", "POST", f"/api/v1/inbox/{delivery_id}/status", commune, json={"status": "accepted"})
    call("deliveries", "GET", f"/api/v1/documents/{doc_id}/deliveries")
    call("audit", "GET", "/api/v1/audit?limit=200", "auditor")
    held = issue_held_key(settings, full_name="Trần Văn Ánh", agency_code=sw.world.province,
                          agency_name="UBND tỉnh Thử Nghiệm")
    draft = upload(client, sw, "Công văn ký từ xa")
    call("prepare", "POST", f"/api/v1/documents/{draft}/signatures/prepare", "signer",
         json={"certificate": held.pem, "profile": "person", "level": "B-T"})

    times = _times(answers)
    wrong = {path: text for path, text in times.items() if not API_TIME.match(text)}
    assert not wrong, wrong
    # the walk saw the times it is about (a renamed field must not make this test pass by itself)
    for expected in ("document.created_at", "document.revisions[0].created_at", "sign_seal.revision.signed_at",
                     "verification.validated_at", "verification.signatures[0].signing_time",
                     "verification.signatures[0].timestamp.time", "dispatch.created_at", "inbox.items[0].created_at",
                     "inbox.items[0].trace[0].at", "ack.receipt.received_at", "deliveries.deliveries[0].acked_at",
                     "deliveries.deliveries[0].fetched_at", "deliveries.deliveries[0].history[1].at",
                     "audit.items[0].at", "prepare.expires_at"):
        assert expected in times, (expected, sorted(times))
