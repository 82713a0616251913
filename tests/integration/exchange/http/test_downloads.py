"""Downloads: Content-Length, a strong ETag and Repr-Digest (RFC 9530) on every answer, Range
requests (206, 416, If-Range), a corrupted blob's range withheld like its whole, and the
recipient's ``fetched_at`` set only once the file's last byte was sent."""
from __future__ import annotations

import base64
import hashlib
import os

import pytest

from exchange.models import Delivery, Dispatch, Revision
from tests.db import session_scope, store_from_app
from tests.exchange_fixtures import build_world, make_pdf, store_document

# larger than the blob reader's buffer (1 MiB) and many chunks (CONTENT_CHUNK) long: a damage
# at its end is found after the first chunks went out
PDF = make_pdf("Công văn tải về " * 200, pages=700)


@pytest.fixture
def sent(app, engine):  # type: ignore[no-untyped-def]
    """A sealed document of the province, delivered to the first commune."""
    with session_scope(engine, write=True) as s:
        world = build_world(s)
        doc_id = store_document(s, store_from_app(app), world, pdf=PDF, state="sealed")
        revision = s.exec(Revision.__table__.select().where(Revision.document_id == doc_id)).first()
        dispatch = Dispatch(document_id=doc_id, revision_id=revision.id, sender_agency_id=world.agency_ids[world.province],
                            idempotency_key="k", request_sha256="0" * 64)
        s.add(dispatch)
        s.flush()
        commune = world.agency_ids[world.all_communes[0]]
        delivery = Delivery(dispatch_id=dispatch.id, document_id=doc_id, recipient_agency_id=commune,
                            addressed_agency_id=commune, seq=1, status="delivered")
        s.add(delivery)
        s.flush()
        return world, doc_id, delivery.id


def _fetched(engine, delivery_id):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return s.get(Delivery, delivery_id).fetched_at


def test_every_download_names_its_length_and_digest(client, sent):
    world, doc_id, _ = sent
    r = client.get(f"/api/v1/documents/{doc_id}/content", headers=world.headers("clerk"))
    body, sha = r.data, hashlib.sha256(PDF).hexdigest()
    assert r.status_code == 200 and body == PDF and int(r.headers["Content-Length"]) == len(PDF)
    assert r.headers["ETag"] == f'"{sha}"' and r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"
    assert r.headers["Digest"] == f"sha-256={base64.b64encode(hashlib.sha256(body).digest()).decode()}"
    again = client.get(f"/api/v1/documents/{doc_id}/content", headers={**world.headers("clerk"),
                                                                        "If-None-Match": f'"{sha}"'})
    assert again.status_code == 304 and again.headers["Repr-Digest"] == r.headers["Repr-Digest"]


@pytest.mark.parametrize("header,start,stop", [("bytes=0-99", 0, 100), ("bytes=100-", 100, None),
                                               ("bytes=-50", -50, None), ("bytes=1000-1999999999", 1000, None)])
def test_a_range_is_served_with_206(client, sent, header, start, stop):
    world, doc_id, _ = sent
    r = client.get(f"/api/v1/documents/{doc_id}/content", headers={**world.headers("clerk"), "Range": header})
    expected = PDF[start:stop]
    assert r.status_code == 206 and r.data == expected
    assert int(r.headers["Content-Length"]) == len(expected)
    first = start if start >= 0 else len(PDF) + start
    assert r.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(PDF)}"
    assert r.headers["ETag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'  # of the whole file, as Repr-Digest


def test_ranges_the_file_cannot_answer(client, sent):
    world, doc_id, _ = sent
    url, headers = f"/api/v1/documents/{doc_id}/content", world.headers("clerk")
    beyond = client.get(url, headers={**headers, "Range": f"bytes={len(PDF)}-"})
    assert beyond.status_code == 416 and beyond.get_json()["error"]["code"] == "range_not_satisfiable"
    assert beyond.headers["Content-Range"] == f"bytes */{len(PDF)}"
    other_version = client.get(url, headers={**headers, "Range": "bytes=0-9", "If-Range": '"' + "0" * 64 + '"'})
    assert other_version.status_code == 200 and other_version.data == PDF
    several = client.get(url, headers={**headers, "Range": "bytes=0-9,20-29"})
    assert several.status_code == 200 and several.data == PDF
    same_version = client.get(url, headers={**headers, "Range": "bytes=0-9",
                                            "If-Range": f'"{hashlib.sha256(PDF).hexdigest()}"'})
    assert same_version.status_code == 206 and same_version.data == PDF[:10]


def test_fetched_only_once_the_last_byte_was_sent(client, engine, sent):
    world, doc_id, delivery_id = sent
    url, recipient = f"/api/v1/documents/{doc_id}/content", world.headers(world.all_communes[0])
    partial = client.get(url, headers={**recipient, "Range": "bytes=0-99"})
    assert partial.data == PDF[:100] and _fetched(engine, delivery_id) is None  # not the whole file
    broken_off = client.get(url, headers=recipient)
    next(broken_off.response)  # the first chunk only, then the client goes away
    broken_off.close()
    assert _fetched(engine, delivery_id) is None
    assert client.get(url, headers={**recipient, "Range": "bytes=-100"}).data == PDF[-100:]  # the end: resumed
    assert _fetched(engine, delivery_id) is not None


def test_a_corrupted_blob_is_withheld_in_a_range_too_and_without_retry_after(app, client, sent):
    world, doc_id, _ = sent
    sha = hashlib.sha256(PDF).hexdigest()
    blob = app.extensions["lienthong.settings"].blob_dir / "sha256" / sha[:2] / sha[2:4] / sha
    os.chmod(blob, 0o600)
    damaged = bytearray(PDF)
    damaged[-10] ^= 0xFF  # a flipped byte near the end, far from the range asked for
    blob.write_bytes(bytes(damaged))
    url, headers = f"/api/v1/documents/{doc_id}/content", world.headers("clerk")
    r = client.get(url, headers={**headers, "Range": "bytes=0-99"})
    # the range lies in the first chunk, the damage in the last: read through before release
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "storage_corrupted"
    assert "Retry-After" not in r.headers  # waiting cures nothing: an operator must restore
    whole = client.get(url, headers=headers)  # the first chunks go out, the body then breaks off
    assert whole.status_code == 200 and int(whole.headers["Content-Length"]) == len(PDF)
    received = b"".join(_until_broken(whole))
    assert 0 < len(received) < len(PDF)  # shorter than announced: every client sees it broke off


def _until_broken(response):  # type: ignore[no-untyped-def]
    try:
        yield from response.response
    except Exception:  # noqa: BLE001 - the body broke off: what was sent until then is the point
        return


def test_a_download_whose_record_fails_still_ends_cleanly_and_the_next_records_it(app, client, engine, sent, caplog):
    """The database overloaded at the last byte (every pooled connection busy: the 10-minute
    soak met it): the body is whole, a warning says so, and the next whole download records it."""
    world, doc_id, delivery_id = sent
    url, recipient = f"/api/v1/documents/{doc_id}/content", world.headers(world.all_communes[0])
    app_engine = app.extensions["lienthong.services"].engine
    pool = app_engine.pool
    streaming = client.get(url, headers=recipient, buffered=False)
    assert streaming.status_code == 200
    saved, pool._timeout = pool._timeout, 0.2  # type: ignore[attr-defined]  # QueuePool's 30 s checkout timeout
    held = [app_engine.connect() for _ in range(pool.size() + pool._max_overflow)]  # type: ignore[attr-defined]
    try:
        body = b"".join(streaming.response)  # raised here before: the server dropped the connection
    finally:
        for conn in held:
            conn.close()
        pool._timeout = saved  # type: ignore[attr-defined]
    assert body == PDF
    assert _fetched(engine, delivery_id) is None
    assert "sent whole but not recorded as fetched" in caplog.text
    assert client.get(url, headers=recipient).data == PDF
    assert _fetched(engine, delivery_id) is not None
