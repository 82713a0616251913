"""The agency client end to end (issue 10's "done when"): a server under gunicorn, two commune
clients running ``lienthong-client pull``; documents dispatched while one client is SIGKILLed
and restarted twice; each folder ends with exactly the documents (hashes match, receipts
verify with the service's key), each acknowledged once; a recall of 5 reaches both clients
through the events feed and their files move to ``recalled/``; the sender's events feed shows
every ack and every recall decision."""
from __future__ import annotations

import hashlib
import json
import signal
import time

import pytest
import requests

from exchange.services import receipts
from tests.db import build_services, session_scope
from tests.e2e.client_support import delivered, log_lines, recalled, send_document, start_client, wait_for
from tests.e2e.gunicorn_support import gunicorn
from tests.exchange_fixtures import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DOCUMENTS = 100
RECALLED = 5


def sender_events(base: str, headers: dict[str, str]) -> list[dict]:
    found, after = [], ""
    while True:
        page = requests.get(f"{base}/api/v1/events", params={"after": after, "limit": 200}, headers=headers,
                            timeout=30).json()
        if not page["items"]:
            return found
        found += page["items"]
        after = page["next_cursor"]


def test_two_clients_pull_everything_once_through_sigkills_and_apply_recalls(tmp_path, database_url):
    data_dir = tmp_path / "var"
    services = build_services(database_url, data_dir)
    with session_scope(services.engine, write=True) as session:
        world = build_world(session)
    steady, killed = world.all_communes[:2]
    outs = {steady: tmp_path / "steady", killed: tmp_path / "killed"}
    logs = {code: tmp_path / f"{code}.log" for code in outs}
    env = {"LIENTHONG_DATA_DIR": str(data_dir), "LIENTHONG_DATABASE_URL": database_url}
    sent = []
    with gunicorn("app:create_app()", env) as base:
        clients = {code: start_client(base, world.agency_tokens[code], out, log=logs[code])
                   for code, out in outs.items()}
        kills = []  # (finished, sent) in the killed client's folder at each SIGKILL
        for batch in range(3):
            if batch:  # frozen while a batch arrives, so that it is killed in the middle of that work
                clients[killed].send_signal(signal.SIGSTOP)
            for i in range(batch * DOCUMENTS // 3, (batch + 1) * DOCUMENTS // 3 if batch < 2 else DOCUMENTS):
                # every 10th with an attachment whose name tries to leave the folder
                sent.append(send_document(services, world, [steady, killed], f"{i}", kilobytes=100,
                                          attachment=f"phụ lục {i}".encode() if i % 10 == 0 else None))
            if batch:
                before = len(delivered(outs[killed]))
                clients[killed].send_signal(signal.SIGCONT)
                wait_for(lambda before=before: len(delivered(outs[killed])) > before + 2, 60, "the client to resume",
                         step=0.01)
                clients[killed].send_signal(signal.SIGKILL)
                clients[killed].wait(10)
                kills.append((len(delivered(outs[killed])), len(sent)))
                clients[killed] = start_client(base, world.agency_tokens[killed], outs[killed], log=logs[killed])
        assert len(kills) == 2 and all(done < total for done, total in kills), kills
        for code, out in outs.items():
            wait_for(lambda out=out: len(delivered(out)) == DOCUMENTS, 120, f"{code}'s {DOCUMENTS} documents")

        # every folder: the dispatched bytes, the metadata, a receipt signed by the service's key
        for code, out in outs.items():
            expected = {s.deliveries[code]: s for s in sent}
            assert set(delivered(out)) == set(expected)
            assert not list((out / ".partial").iterdir())
            for delivery_id, folder in delivered(out).items():
                s = expected[delivery_id]
                assert hashlib.sha256((folder / "document.pdf").read_bytes()).hexdigest() == s.sha256
                metadata = json.loads((folder / "metadata.json").read_text("utf-8"))
                assert metadata["delivery_id"] == delivery_id and metadata["document"]["sha256"] == s.sha256
                receipt = json.loads((folder / "receipt.json").read_text("utf-8"))
                assert receipts.verify(receipt, services.receipt_key.public)
                assert receipt["delivery_id"] == delivery_id and receipt["document_sha256"] == s.sha256
                files = list((folder / "attachments").iterdir())
                if s.attachment_sha256:
                    (attachment,) = files
                    assert attachment.name.endswith("x.txt") and "/" not in attachment.name
                    assert hashlib.sha256(attachment.read_bytes()).hexdigest() == s.attachment_sha256
                else:
                    assert files == []

        # a recall of 5 reaches both clients through the events feed
        for s in sent[:RECALLED]:
            r = requests.post(f"{base}/api/v1/documents/{s.document_id}/recall", headers=world.headers("clerk"),
                              json={"reason": "Ban hành nhầm"}, timeout=30)
            assert r.status_code == 200, r.text
        for code, out in outs.items():
            wait_for(lambda out=out: len(recalled(out)) == RECALLED, 60, f"{code}'s recalls")
            assert set(recalled(out)) == {s.deliveries[code] for s in sent[:RECALLED]}
            assert len(delivered(out)) == DOCUMENTS - RECALLED
            for folder in recalled(out).values():
                assert json.loads((folder / "recall.json").read_text("utf-8"))["reason"] == "Ban hành nhầm"

        # the sender's feed: each copy acknowledged once, each recall accepted by its recipient
        def decisions() -> list[dict]:
            return [e for e in sender_events(base, world.headers("clerk")) if e["kind"] == "recall.decided"]

        wait_for(lambda: len(decisions()) == 2 * RECALLED, 30, "the recall decisions", step=0.5)
        feed = sender_events(base, world.headers("clerk"))
        acks = [e for e in feed if e["kind"] == "delivery.acked"]
        assert len(acks) == 2 * DOCUMENTS
        assert sorted(e["delivery_id"] for e in acks) == sorted(d for s in sent for d in s.deliveries.values())
        assert all(e["data"]["accept"] is True for e in decisions())
        assert {e["delivery_id"] for e in decisions()} == {d for s in sent[:RECALLED] for d in s.deliveries.values()}

        # SIGTERM: a clean stop, with its summary
        time.sleep(0.5)
        for code, process in clients.items():
            process.send_signal(signal.SIGTERM)
            assert process.wait(15) == 0, code
    services.close()
    summaries = [line for line in log_lines(logs[steady]) if line.get("message") == "summary"]
    assert summaries and summaries[-1]["downloaded"] == DOCUMENTS and summaries[-1]["acked"] == DOCUMENTS
    assert summaries[-1]["recalled"] == RECALLED
    # across its three runs, the killed client downloaded and acknowledged each document once
    for message in ("downloaded", "acknowledged"):
        ids = [line["delivery_id"] for line in log_lines(logs[killed]) if message in line.get("message", "")]
        assert len(ids) == len(set(ids)), message
