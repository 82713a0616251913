"""The agency client's pure parts: its receipt check against the service's own signer, the
Retry-After it honours, the names it gives files, the cursor file it writes."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from client.api import retry_after
from client.pull import safe_name
from client.receipts import ReceiptInvalid, verify
from client.state import STATE_FILE, State
from exchange.services.receipts import load_or_create_key, key_view


@pytest.fixture
def signed(tmp_path: Path) -> tuple[dict, dict]:
    key = load_or_create_key(tmp_path)
    receipt = key.sign({"type": "lienthong.receipt.v1", "delivery_id": 7, "document_sha256": "ab" * 32,
                        "recipient": "000.01.01.H62", "acknowledged_by": "hệ thống Xã An Bình"})
    return receipt, key_view(key)


def test_a_receipt_of_the_service_verifies_and_any_change_breaks_it(signed, tmp_path):
    receipt, key = signed
    verify(receipt, key, delivery_id=7)
    with pytest.raises(ReceiptInvalid, match="delivery_id"):
        verify(receipt, key, delivery_id=8)
    with pytest.raises(ReceiptInvalid, match="does not verify"):
        verify({**receipt, "recipient": "000.02.01.H62"}, key)
    with pytest.raises(ReceiptInvalid, match="no detached JWS"):
        verify({k: v for k, v in receipt.items() if k != "signature"}, key)
    other = key_view(load_or_create_key(tmp_path / "other"))
    with pytest.raises(ReceiptInvalid):
        verify(receipt, other)


def test_retry_after_in_seconds_or_as_a_date_capped():
    assert retry_after("3") == 3.0
    assert retry_after("100000") == 300.0
    assert retry_after(None) is None and retry_after("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(later) <= 30  # type: ignore[operator]
    assert retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=timezone.utc), usegmt=True)) == 0.0


@pytest.mark.parametrize("raw, safe", [
    ("phụ lục 1.pdf", "phụ lục 1.pdf"), ("../../etc/passwd", "passwd"), ("a\\..\\b.txt", "b.txt"),
    ("..", "file"), ("x\x00y\n.txt", "x_y_.txt"), ("", "file"),
])
def test_file_names_from_the_server_stay_in_their_folder(raw, safe):
    assert safe_name(raw) == safe


def test_cursors_survive_a_reload_and_leave_no_temporary_file(tmp_path):
    state = State(tmp_path)
    assert state["inbox"] == "" and state["events"] == ""
    state.advance("inbox", "42")
    state.advance("events", "7")
    assert State(tmp_path)["inbox"] == "42" and State(tmp_path)["events"] == "7"
    assert json.loads((tmp_path / STATE_FILE).read_text()) == {"inbox": "42", "events": "7"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILE]


class _StoppingInbox:
    """An api with one inbox page of two deliveries; SIGTERM arrives (``stop``) once the
    second has been handled."""

    def __init__(self) -> None:
        import threading

        self.stop = threading.Event()
        self.items = [{"seq": 1, "delivery_id": 11}, {"seq": 2, "delivery_id": 12}]

    def inbox(self, after: str, limit: int) -> dict:
        return {"items": [item for item in self.items if item["seq"] > int(after or 0)][:limit]}


def test_a_sigterm_between_two_parallel_deliveries_keeps_the_cursor_before_the_one_not_handled(tmp_path):
    """--parallel 2: the thread given seq 1 is paused before it looks at the stop flag, the
    other handles seq 2, SIGTERM; seq 1 is then skipped. The cursor must stay before seq 1
    (before: it moved to "2", and delivery 1 was never downloaded nor acked after a restart)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from client.pull import Puller

    api = _StoppingInbox()
    second_handled, handled = threading.Event(), []

    class OneDeliveryOnly(Puller):
        def handle(self, item: dict) -> None:
            handled.append(item["seq"])
            if item["seq"] == 2:
                api.stop.set()  # the SIGTERM
                second_handled.set()

    class FirstThreadPaused:
        def __init__(self, pool: ThreadPoolExecutor) -> None:
            self.pool = pool

        def submit(self, fn, item):  # type: ignore[no-untyped-def]
            if item["seq"] == 1:
                return self.pool.submit(lambda: second_handled.wait(10) and fn(item))
            return self.pool.submit(fn, item)

    puller = OneDeliveryOnly(api, tmp_path / "out", parallel=2)  # type: ignore[arg-type]
    with ThreadPoolExecutor(2) as pool:
        puller.drain_inbox(FirstThreadPaused(pool))  # type: ignore[arg-type]
    assert handled == [2]  # seq 1 was not handled: the stop flag was set when its thread looked
    assert State(tmp_path / "out")["inbox"] == ""  # so after a restart it is fetched again
