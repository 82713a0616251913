"""Two nodes: two app processes (gunicorn, one worker each) on two loopback addresses,
127.0.0.2 and 127.0.0.3, sharing one PostgreSQL and one S3 server (moto) but no folder —
each has a data folder of its own, holding only the copied secrets docs/deployment.md asks
to share. A dispatch made on one wakes a long-poll parked on the other within a second, and
when pollers on both race through the same inbox, acking and registering what they see, no
delivery is lost or doubled (issue 13, item 6). PostgreSQL only: SQLite is one machine."""
from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from exchange.models import Delivery, Document
from exchange.services.receipts import KEY_FILE, load_or_create_key
from settings import load_or_create_secret
from storage.db import make_engine
from storage.schema import import_all_models
from tests.conftest import TEST_DATABASE_URL, _create_schema, empty_database
from tests.db import session_scope
from tests.e2e.gunicorn_support import gunicorn
from tests.exchange_fixtures import DOCUMENT_METADATA, World, auth, build_world, make_pdf
from tests.s3server import moto_s3_server

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not TEST_DATABASE_URL, reason="several nodes share a PostgreSQL: "
                                                              "set LIENTHONG_TEST_DATABASE_URL")]
HOSTS = ("127.0.0.2", "127.0.0.3")
WAIT = 20
WAKE_LIMIT_S = 1.0
RACED_DOCUMENTS = 24


class Cluster:
    def __init__(self, engine: sa.Engine, world: World, bases: list[str], data_dirs: list[Path]) -> None:
        self.engine, self.world, self.bases, self.data_dirs = engine, world, bases, data_dirs

    def upload_sealed(self, base: str, text: str) -> int:
        """A document uploaded on ``base``; its state set to sealed directly (signing has its own tests)."""
        up = requests.post(f"{base}/api/v1/documents", headers=self.world.headers("clerk"), timeout=30,
                           files={"file": ("a.pdf", make_pdf(text), "application/pdf")},
                           data={"metadata": json.dumps(DOCUMENT_METADATA)})
        assert up.status_code == 201, up.text
        with session_scope(self.engine, write=True) as session:
            session.get(Document, up.json()["id"]).state = "sealed"  # type: ignore[union-attr]
        return up.json()["id"]

    def dispatch(self, base: str, document_id: int, to: list[str]) -> requests.Response:
        sent = requests.post(f"{base}/api/v1/documents/{document_id}/dispatches", timeout=30, json={"to": to},
                             headers={**self.world.headers("clerk"), "Idempotency-Key": uuid.uuid4().hex})
        assert sent.status_code == 201, sent.text
        return sent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("two-nodes")
    with empty_database(root) as url, moto_s3_server() as s3:
        engine = make_engine(url)
        _create_schema(engine, import_all_models())
        with session_scope(engine, write=True) as session:
            world = build_world(session)
        data_dirs = [root / "node-a", root / "node-b"]
        for folder in data_dirs:
            folder.mkdir(mode=0o700)
        # what must be the same on every node (docs/deployment.md, "Several nodes"), copied once
        load_or_create_key(data_dirs[0])
        load_or_create_secret(data_dirs[0] / "secret_key")
        for name in (KEY_FILE, "secret_key"):
            shutil.copy2(data_dirs[0] / name, data_dirs[1] / name)
        shared = {"LIENTHONG_DATABASE_URL": url, "LIENTHONG_S3_ENDPOINT": s3.endpoint,
                  "LIENTHONG_S3_ACCESS_KEY": s3.access_key, "LIENTHONG_S3_SECRET_KEY": s3.secret_key,
                  "LIENTHONG_S3_BUCKET": "two-nodes"}
        with gunicorn("app:create_app()", {**shared, "LIENTHONG_DATA_DIR": str(data_dirs[0])}, workers=1,
                      host=HOSTS[0]) as a, \
                gunicorn("app:create_app()", {**shared, "LIENTHONG_DATA_DIR": str(data_dirs[1])}, workers=1,
                         host=HOSTS[1]) as b:
            yield Cluster(engine, world, [a, b], data_dirs)
        engine.dispose()


def _parked(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=10).text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "lienthong_inbox_parked_polls")


def test_the_nodes_share_no_folder(cluster: Cluster) -> None:
    assert [base.split("//")[1].split(":")[0] for base in cluster.bases] == list(HOSTS)
    for folder in cluster.data_dirs:  # the blobs are in S3: neither node wrote a blob folder
        assert not (folder / "blobs").exists()


def test_a_dispatch_on_one_node_wakes_a_poll_parked_on_the_other(cluster: Cluster) -> None:
    a, b = cluster.bases
    commune = cluster.world.all_communes[0]
    document_id = cluster.upload_sealed(a, "Hỏa tốc")
    answer: dict[str, object] = {}

    def poll() -> None:
        r = requests.get(f"{b}/api/v1/inbox", params={"wait": WAIT}, timeout=WAIT + 10,
                         headers=auth(cluster.world.agency_tokens[commune]))
        answer["at"], answer["response"] = time.monotonic(), r

    poller = threading.Thread(target=poll)
    poller.start()
    deadline = time.monotonic() + 15
    while _parked(b) < 1:  # parked on node B now
        assert time.monotonic() < deadline and poller.is_alive(), "the poll never parked"
        time.sleep(0.05)
    cluster.dispatch(a, document_id, [commune])
    dispatched_at = time.monotonic()  # the dispatch has committed once node A answered
    poller.join(WAIT + 15)
    response = answer["response"]
    assert isinstance(response, requests.Response) and response.status_code == 200, response
    woken_in = float(answer["at"]) - dispatched_at  # type: ignore[arg-type]
    print(f"two nodes: the poll parked on node B answered {woken_in * 1000:.0f} ms after node A's dispatch")
    assert woken_in < WAKE_LIMIT_S, f"woken {woken_in:.2f} s after the dispatch on the other node"
    items = response.json()["items"]
    assert [item["document"]["id"] for item in items] == [document_id]
    # node B serves the file node A stored: they share the S3 bucket, not a folder
    content = requests.get(f"{b}{items[0]['content_url']}", timeout=30,
                           headers=auth(cluster.world.agency_tokens[commune]))
    assert content.status_code == 200 and content.content == make_pdf("Hỏa tốc")


def test_pollers_racing_on_both_nodes_lose_and_double_nothing(cluster: Cluster) -> None:
    first, second = cluster.world.all_communes[1:3]
    token = cluster.world.agency_tokens[first]
    documents = [cluster.upload_sealed(cluster.bases[i % 2], f"Công văn {i}") for i in range(RACED_DOCUMENTS)]
    seen: dict[str, list[int]] = {base: [] for base in cluster.bases}
    receipts: dict[int, list[dict]] = {}
    numbers: dict[int, list[int]] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def poller(base: str) -> None:
        """The recipient's system on this node: poll from its own cursor, ack and register each."""
        cursor, deadline = 0, time.monotonic() + 90
        try:
            while len(seen[base]) < RACED_DOCUMENTS and time.monotonic() < deadline:
                r = requests.get(f"{base}/api/v1/inbox", params={"after": cursor, "wait": 5, "limit": 50},
                                 headers=auth(token), timeout=30)
                assert r.status_code == 200, r.text
                for item in r.json()["items"]:
                    seen[base].append(item["seq"])
                    ack = requests.post(f"{base}/api/v1/inbox/{item['delivery_id']}/ack", headers=auth(token),
                                        timeout=30)
                    assert ack.status_code == 200, ack.text
                    accepted = requests.post(f"{base}/api/v1/inbox/{item['delivery_id']}/status",
                                             headers=auth(token), json={"status": "accepted"}, timeout=30)
                    assert accepted.status_code in (200, 409), accepted.text  # 409: the other node's won
                    with lock:
                        receipts.setdefault(item["delivery_id"], []).append(ack.json()["receipt"])
                        if accepted.status_code == 200:
                            numbers.setdefault(item["delivery_id"], []).append(accepted.json()["incoming_number"])
                cursor = r.json()["next_cursor"] or cursor
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            errors.append(f"{base}: {exc!r}")

    pollers = [threading.Thread(target=poller, args=(base,)) for base in cluster.bases]
    for thread in pollers:
        thread.start()

    def dispatch_half(node: int) -> None:
        try:
            for document_id in documents[node::2]:  # both nodes dispatch at once, to the same two communes
                cluster.dispatch(cluster.bases[node], document_id, [first, second])
        except BaseException as exc:  # noqa: BLE001
            errors.append(f"dispatch on node {node}: {exc!r}")

    dispatchers = [threading.Thread(target=dispatch_half, args=(node,)) for node in (0, 1)]
    for thread in dispatchers:
        thread.start()
    for thread in dispatchers + pollers:
        thread.join(120)
    assert errors == []

    # every poller, on either node, saw every delivery once, in seq order, with no gap
    for base, seqs in seen.items():
        assert seqs == list(range(1, RACED_DOCUMENTS + 1)), (base, seqs)
    # one receipt per delivery, the same from both nodes (the shared receipt key); one số đến each
    assert len(receipts) == RACED_DOCUMENTS
    for delivery_id, given in receipts.items():
        assert len(given) == 2 and given[0] == given[1], delivery_id
    assert sorted(n for got in numbers.values() for n in got) == list(range(1, RACED_DOCUMENTS + 1))
    assert all(len(got) == 1 for got in numbers.values()) and len(numbers) == RACED_DOCUMENTS
    with session_scope(cluster.engine) as session:
        for code in (first, second):
            agency_id = cluster.world.agency_ids[code]
            rows = session.execute(sa.select(Delivery.seq).where(Delivery.recipient_agency_id == agency_id)
                                   .order_by(Delivery.seq)).scalars().all()
            assert rows == list(range(1, RACED_DOCUMENTS + 1)), code  # gapless, none doubled
        statuses = Counter(session.execute(sa.select(Delivery.status).where(
            Delivery.recipient_agency_id == cluster.world.agency_ids[first])).scalars())
    assert statuses == {"accepted": RACED_DOCUMENTS}
