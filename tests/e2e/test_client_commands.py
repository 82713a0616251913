"""The agency client's commands against a live server (gunicorn): retries with back-off on
503/429 (``Retry-After`` honoured) and dropped connections, a broken download resumed with
``Range``, a wrong partial file fetched again; ``status``, ``events``, ``send``,
``verify-receipt``, ``--exec``, ``--on-recall ask`` without a terminal; and every command
refused for another agency's token."""
from __future__ import annotations

import hashlib
import json
import signal
import sys

import pytest
import requests

from storage.db import make_engine
from storage.schema import import_all_models
from tests.conftest import _create_schema, empty_database
from tests.db import build_services, session_scope
from tests.e2e.client_support import (FaultyProxy, delivered, log_lines, run_client, send_document, signed_pdf,
                                      start_client, wait_for)
from tests.e2e.gunicorn_support import gunicorn
from tests.exchange_fixtures import build_world, make_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def live(tmp_path_factory):  # type: ignore[no-untyped-def]
    """One server for this module's tests (each uses communes of its own)."""
    tmp = tmp_path_factory.mktemp("live")
    with empty_database(tmp) as url:
        engine = make_engine(url)
        _create_schema(engine, import_all_models())
        engine.dispose()
        services = build_services(url, tmp / "var")
        with session_scope(services.engine, write=True) as session:
            world = build_world(session)
        env = {"LIENTHONG_DATA_DIR": str(tmp / "var"), "LIENTHONG_DATABASE_URL": url}
        with gunicorn("app:create_app()", env) as base:
            yield base, services, world
        services.close()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_retries_honour_retry_after_and_downloads_resume_with_range(tmp_path, live):
    base, services, world = live
    commune = world.all_communes[2]
    token = world.agency_tokens[commune]
    first = send_document(services, world, [commune], "lớn", kilobytes=2048, attachment=b"phu luc " * 1000)
    out = tmp_path / "out"
    with FaultyProxy(base) as proxy:
        proxy.faults = [("/inbox", "503"), ("/inbox", "drop"), ("/events", "429"),
                        (f"/documents/{first.document_id}/content", "cut"),
                        (f"/documents/{first.document_id}/attachments/", "503")]
        done = run_client(proxy.url, token, "--json-logs", "pull", "--out", str(out), "--once")
        assert done.returncode == 0, done.stderr
        folder = delivered(out)[first.deliveries[commune]]
        assert hashlib.sha256((folder / "document.pdf").read_bytes()).hexdigest() == first.sha256
        (attachment,) = (folder / "attachments").iterdir()
        assert hashlib.sha256(attachment.read_bytes()).hexdigest() == first.attachment_sha256
        logs = json_lines(done.stderr)
        retries = [line["message"] for line in logs if line["message"].startswith("retrying")]
        assert len(retries) == 5, retries
        # the server's Retry-After (1 s) is what the client waited, not its own back-off
        assert sum("503" in r and "waiting 1.0 s" in r for r in retries) == 2
        assert sum("429" in r and "waiting 1.0 s" in r for r in retries) == 1
        content = [rng for method, path, rng in proxy.seen if f"/documents/{first.document_id}/content" in path]
        assert content[0] is None and content[1].startswith("bytes=") and int(content[1][6:-1]) > 0, content
        assert any(line["message"].startswith("resuming") for line in logs)
        assert not proxy.faults

        # a partial file left by a crash that is not the start of the document: dropped, fetched whole
        second = send_document(services, world, [commune], "hỏng", kilobytes=64)
        partial = out / ".partial" / str(second.deliveries[commune])
        partial.mkdir(parents=True)
        (partial / "document.pdf.part").write_bytes(b"%PDF-1.7 not this one" * 100)
        seen = len(proxy.seen)
        done = run_client(proxy.url, token, "--json-logs", "pull", "--out", str(out), "--once")
        assert done.returncode == 0, done.stderr
        folder = delivered(out)[second.deliveries[commune]]
        assert hashlib.sha256((folder / "document.pdf").read_bytes()).hexdigest() == second.sha256
        content = [rng for _, path, rng in proxy.seen[seen:] if f"/documents/{second.document_id}/content" in path]
        assert content[0] is not None and content[1] is None, content
        assert "is not the announced" in done.stderr

    # the server gone for good: a clear failure after the retries, not a hang or a traceback
    gone = run_client("http://127.0.0.1:9", token, "--retries", "2", "pull", "--out", str(out), "--once")
    assert gone.returncode == 1 and "Traceback" not in gone.stderr and "ConnectError" in gone.stderr


def test_status_events_send_verify_and_other_agencies_refused(tmp_path, live):
    base, services, world = live
    mine, other = world.all_communes[:2]
    sent = send_document(services, world, [mine], "một")
    delivery_id = sent.deliveries[mine]
    out = tmp_path / "out"

    # --exec that fails: nothing acknowledged; then one that works: handed over once, then acknowledged
    failing = run_client(base, world.agency_tokens[mine], "pull", "--out", str(out), "--once",
                         "--exec", f"{sys.executable} -c 'raise SystemExit(4)'")
    assert failing.returncode == 1 and "exited with 4" in failing.stderr
    assert not delivered(out)
    handed = tmp_path / "handed.txt"
    script = f"import sys; open({str(handed)!r}, 'a').write(sys.argv[1] + '\\n')"
    ok = run_client(base, world.agency_tokens[mine], "pull", "--out", str(out), "--once",
                    "--exec", f"{sys.executable} -c \"{script}\"")
    assert ok.returncode == 0, ok.stderr
    assert handed.read_text().splitlines() == [str(out / str(delivery_id))]
    assert delivery_id in delivered(out)
    assert "Đã xác nhận" in ok.stderr  # the rich summary

    # status: another agency's system is refused and changes nothing
    refused = run_client(base, world.agency_tokens[other], "status", str(delivery_id), "accepted")
    assert refused.returncode == 2 and "404" in refused.stderr
    no_reason = run_client(base, world.agency_tokens[mine], "status", str(delivery_id), "returned")
    assert no_reason.returncode == 2
    accepted = run_client(base, world.agency_tokens[mine], "status", str(delivery_id), "accepted")
    assert accepted.returncode == 0, accepted.stderr
    answer = json.loads(accepted.stdout)
    assert answer["status"] == "accepted" and isinstance(answer["incoming_number"], int)

    # events: the recipient's and the sender's own feeds
    events = run_client(base, world.agency_tokens[mine], "events")
    assert [e["kind"] for e in json_lines(events.stdout)] == ["delivery.created"]
    theirs = run_client(base, world.token("clerk"), "events", "--limit", "200")
    kinds = [(e["kind"], e["data"].get("status")) for e in json_lines(theirs.stdout) if e["delivery_id"] == delivery_id]
    assert kinds == [("delivery.acked", None), ("delivery.status", "accepted")]
    assert json_lines(run_client(base, world.agency_tokens[other], "events").stdout) == []

    # verify-receipt: with the server's key, with a key file offline, and a tampered receipt
    receipt = out / str(delivery_id) / "receipt.json"
    good = run_client(base, "", "verify-receipt", str(receipt))
    assert good.returncode == 0 and json.loads(good.stdout)["valid"] is True
    key = tmp_path / "key.json"
    key.write_text(requests.get(f"{base}/api/v1/receipts/key", timeout=10).text)
    offline = run_client("", "", "verify-receipt", str(receipt), "--key", str(key))
    assert offline.returncode == 0, offline.stderr
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**json.loads(receipt.read_text()), "recipient": other}))
    bad = run_client(base, "", "verify-receipt", str(tampered))
    assert bad.returncode == 3 and json.loads(bad.stdout)["valid"] is False

    # send: an existing sealed document, once however often it is retried; another agency refused
    again = send_document(services, world, [other], "hai")
    sent_twice = [run_client(base, world.token("clerk"), "send", "--document", str(again.document_id), "--to", mine)
                  for _ in range(2)]
    assert [r.returncode for r in sent_twice] == [0, 0], sent_twice[0].stderr
    assert json.loads(sent_twice[0].stdout)["id"] == json.loads(sent_twice[1].stdout)["id"]
    stolen = run_client(base, world.agency_tokens[other], "send", "--document", str(again.document_id), "--to", mine)
    assert stolen.returncode == 2
    # send FILE: an agency system's own signed PDF, uploaded (sealed) and dispatched; an unsigned one refused
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(make_pdf("Văn bản gửi"))
    refused_upload = run_client(base, world.agency_tokens[mine], "send", str(unsigned), "--to", other, "--metadata",
                                json.dumps({"doc_type": "Công văn", "subject": "Chưa ký"}))
    assert refused_upload.returncode == 2 and "not_signed" in refused_upload.stderr
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(signed_pdf(services, world, "tự ký"))
    metadata = json.dumps({"doc_type": "Công văn", "subject": "Báo cáo của xã"})
    upload, retried = (run_client(base, world.agency_tokens[mine], "send", str(pdf), "--to", other,
                                  "--metadata", metadata) for _ in range(2))
    assert upload.returncode == 0 and retried.returncode == 0, (upload.stderr, retried.stderr)
    assert json.loads(retried.stdout) == json.loads(upload.stdout)  # one document, one dispatch
    [to_other] = json.loads(upload.stdout)["deliveries"]
    assert to_other["recipient"] == other
    their_inbox = requests.get(f"{base}/api/v1/inbox", headers=world.headers(other), timeout=30).json()["items"]
    assert to_other["id"] in [item["delivery_id"] for item in their_inbox]
    theirs_pdf = requests.get(f"{base}/api/v1/documents/{json.loads(upload.stdout)['document_id']}/content",
                              headers=world.headers(other), timeout=30)
    assert theirs_pdf.content == pdf.read_bytes()

    # a recall with --on-recall ask and no terminal: nothing moved or answered, the request noted
    assert run_client(base, world.agency_tokens[mine], "pull", "--out", str(out), "--once").returncode == 0
    r = requests.post(f"{base}/api/v1/documents/{again.document_id}/recall", headers=world.headers("clerk"),
                      json={"reason": "Sai số"}, timeout=30)
    assert r.status_code == 200, r.text
    asked = run_client(base, world.agency_tokens[mine], "pull", "--out", str(out), "--once", "--on-recall", "ask")
    assert asked.returncode == 0, asked.stderr
    mine_again = [d for d in delivered(out) if d != delivery_id]
    assert len(mine_again) == 1 and (out / str(mine_again[0]) / "recall-request.json").exists()

    # fetched by another of the agency's systems, then recalled before any ack: not filed, not a failure
    third = send_document(services, world, [mine], "ba")
    fetched = requests.get(f"{base}/api/v1/documents/{third.document_id}/content", headers=world.headers(mine),
                           timeout=30)
    assert fetched.status_code == 200
    r = requests.post(f"{base}/api/v1/documents/{third.document_id}/recall", headers=world.headers("clerk"),
                      json={"reason": "Gửi nhầm"}, timeout=30)
    assert r.status_code == 200, r.text
    skipped = run_client(base, world.agency_tokens[mine], "pull", "--out", str(out), "--once")
    assert skipped.returncode == 0, skipped.stderr
    assert not (out / str(third.deliveries[mine])).exists() and not list((out / ".partial").iterdir())

    # no token at all: a usage error, before any request
    bare = run_client(base, "", "events")
    assert bare.returncode == 2 and "LIENTHONG_TOKEN" in bare.stderr


def test_sigterm_while_busy_finishes_the_deliveries_at_hand_and_a_restart_does_the_rest(tmp_path, live):
    base, services, world = live
    commune = world.all_communes[3]
    sent = [send_document(services, world, [commune], f"term-{i}", kilobytes=100) for i in range(40)]
    out, log = tmp_path / "out", tmp_path / "pull.log"
    process = start_client(base, world.agency_tokens[commune], out, log=log)
    wait_for(lambda: len(delivered(out)) >= 2, 60, "the first deliveries", step=0.01)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    first = set(delivered(out))
    assert 2 <= len(first) < len(sent), len(first)  # stopped in the middle of the backlog
    assert not list((out / ".partial").iterdir())  # nothing left half done
    assert not [p for p in out.iterdir() if p.name.isdigit() and not (p / "receipt.json").exists()]
    done = run_client(base, world.agency_tokens[commune], "--json-logs", "pull", "--out", str(out), "--once")
    assert done.returncode == 0, done.stderr
    assert set(delivered(out)) == {s.deliveries[commune] for s in sent}
    again = [line["delivery_id"] for line in log_lines(log) + json_lines(done.stderr)
             if "downloaded" in line.get("message", "")]
    assert len(again) == len(set(again)) == len(sent)
