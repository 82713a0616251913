"""``lienthong-client pull``: the agency's inbox into a folder, acknowledged, recalls applied.

The folder (``--out DIR``)::

    DIR/.lienthong-client.json   the inbox and events cursors (written atomically)
    DIR/.partial/<delivery>/     a delivery being downloaded (resumed after a crash)
    DIR/<delivery>/              document.pdf, attachments/<id>-<name>, metadata.json, receipt.json
    DIR/recalled/<delivery>/     the same, moved there when its sender recalled it

One round: long-poll the events feed (every new delivery is an event too, so it wakes the
client for the inbox as well), drain the inbox, then apply the page's events. An inbox item
is handled in an order that survives SIGKILL at any point: download into ``.partial`` (a
broken file resumes with ``Range``), check every SHA-256, move the folder into place (one
``os.replace``), hand it to ``--exec`` if asked (a marker file records that it was), ack,
verify the receipt with the server's published key, write it, and only then move the inbox
cursor past it. The documents of one inbox page are handled ``--parallel`` at a time (the
ack is a write on the server: one after the other, it would cap the rate well below what the
downloads allow); the cursor then moves past the longest run of handled items, once per page.
A restart redoes at most the steps after the last one that left a trace, and each of them is
idempotent (a delivery whose folder holds its receipt is skipped; an ack repeated answers the
same receipt). Events are applied in order, the events cursor moved after each page; applying
one again (a crash in between) changes nothing more.

What must survive a power cut is what was acknowledged: a delivery's files are fsynced, and
its folder's rename with them, before the ack. The receipt (asked again, the server answers
the same one) and the cursors (a stale one only makes the client skip what it already has)
are written atomically: a temporary file, fsync, ``os.replace``.
"""
from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.prompt import Confirm, Prompt
from rich.table import Table

from client.api import Api, ApiError, HashMismatch
from client.receipts import ReceiptInvalid, verify
from client.state import State, sync_dir, write_json, write_json_quickly

log = logging.getLogger("lienthong_client")

HANDED = ".handed"  # in a delivery's folder: --exec ran successfully on it
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def safe_name(name: str) -> str:
    """A file name from the server made harmless here: no folder parts, no control characters."""
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return base[:120] or "file"


def fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


@dataclass
class Summary:
    downloaded: int = 0
    bytes: int = 0
    acked: int = 0
    receipts_verified: int = 0
    recalled: int = 0
    recall_answers: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)

    def table(self) -> Table:
        table = Table(title="lienthong-client pull", show_header=False)
        for label, value in (("Văn bản đã tải / documents downloaded", self.downloaded),
                             ("Dung lượng / bytes", self.bytes),
                             ("Đã xác nhận / acknowledged", self.acked),
                             ("Biên nhận hợp lệ / receipts verified", self.receipts_verified),
                             ("Đã thu hồi / moved to recalled/", self.recalled),
                             ("Trả lời thu hồi / recall answers", self.recall_answers),
                             ("Sự kiện / events applied", self.events),
                             ("Lỗi / errors", len(self.errors))):
            table.add_row(label, str(value))
        return table

    def as_dict(self) -> dict[str, Any]:
        return {"downloaded": self.downloaded, "bytes": self.bytes, "acked": self.acked,
                "receipts_verified": self.receipts_verified, "recalled": self.recalled,
                "recall_answers": self.recall_answers, "events": self.events, "errors": self.errors}


class Puller:
    def __init__(self, api: Api, out: Path, *, wait: float = 30, exec_cmd: str | None = None,
                 on_recall: str = "accept", console: Console | None = None, parallel: int = 4,
                 ask: Callable[[str], tuple[bool, str] | None] | None = None) -> None:
        self.api, self.out, self.wait, self.exec_cmd, self.on_recall = api, out, wait, exec_cmd, on_recall
        self.parallel = max(1, parallel)
        self.lock = threading.Lock()
        self.console = console or Console(stderr=True)
        self.ask = ask or self._ask_on_terminal
        out.mkdir(parents=True, exist_ok=True)
        (out / ".partial").mkdir(exist_ok=True)
        (out / "recalled").mkdir(exist_ok=True)
        self.state = State(out)
        self.summary = Summary()
        self.idle = threading.Event()  # set while long-polling: a SIGTERM may interrupt at once
        self._key: dict[str, Any] | None = None
        self.progress: Progress | None = None

    # ---- the loop ----------------------------------------------------------------------
    def run(self, once: bool = False) -> None:
        cursors = {"inbox_cursor": self.state["inbox"], "events_cursor": self.state["events"]}
        log.info("pulling into %s after inbox cursor %r, events cursor %r", self.out, self.state["inbox"],
                 self.state["events"], extra=cursors)
        if self.console.is_terminal:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                     TransferSpeedColumn(), console=self.console, transient=True)
            self.progress.start()
        try:
            with ThreadPoolExecutor(self.parallel, thread_name_prefix="pull") as pool:
                self._rounds(pool, once)
        finally:
            if self.progress is not None:
                self.progress.stop()

    def _rounds(self, pool: ThreadPoolExecutor, once: bool) -> None:
        while not self.api.stop.is_set():
            self.drain_inbox(pool)
            self.idle.set()
            try:
                if self.api.stop.is_set():  # a signal that came while busy: no long-poll now
                    return
                page = self.api.events(self.state["events"], wait=0 if once else self.wait)
            finally:
                self.idle.clear()
            items = page.get("items", [])
            if items:
                self.drain_inbox(pool)  # the deliveries these events tell of are in the inbox by now
            applied = ""
            try:
                for event in items:
                    if self.api.stop.is_set():
                        break
                    self.apply(event)
                    applied = str(event["seq"])
            finally:
                if applied:
                    self.state.advance("events", applied)
            if once and not items:
                return

    def drain_inbox(self, pool: ThreadPoolExecutor) -> None:
        while not self.api.stop.is_set():
            page = self.api.inbox(self.state["inbox"], limit=50)
            items = page.get("items", [])
            if not items:
                return
            futures = [pool.submit(self._handle_unless_stopping, item) for item in items]
            # every one finishes; the cursor stops before the first not handled, failed or
            # skipped because a SIGTERM came first (a later one handled by another thread meanwhile
            # must not carry the cursor past it: it would never be fetched again)
            done, failure, gap = "", None, False
            for item, future in zip(items, futures, strict=True):
                error = future.exception()
                if error is None and future.result() and not gap:
                    done = str(item["seq"])
                    continue
                gap = True
                if failure is None:
                    failure = error
            if done:
                self.state.advance("inbox", done)
            if failure is not None:
                raise failure

    def _handle_unless_stopping(self, item: dict[str, Any]) -> bool:
        if self.api.stop.is_set():
            return False
        self.handle(item)
        return True

    # ---- one delivery ------------------------------------------------------------------
    def folder(self, delivery_id: int) -> Path:
        return self.out / str(delivery_id)

    def recalled_folder(self, delivery_id: int) -> Path:
        return self.out / "recalled" / str(delivery_id)

    def handle(self, item: dict[str, Any]) -> None:
        delivery_id = int(item["delivery_id"])
        final = self.folder(delivery_id)
        if "document" not in item:  # recalled before this agency fetched it: nothing to keep
            shutil.rmtree(self.out / ".partial" / str(delivery_id), ignore_errors=True)
            log.info("delivery %s was recalled before it was fetched", delivery_id,
                     extra={"delivery_id": delivery_id, "status": item.get("status")})
            return
        if item.get("status") == "recalled" and not final.exists():
            # taken back after another of the agency's systems fetched it: not to be filed here
            shutil.rmtree(self.out / ".partial" / str(delivery_id), ignore_errors=True)
            log.info("delivery %s was recalled before this client filed it", delivery_id,
                     extra={"delivery_id": delivery_id})
            return
        if not final.exists() and not self.recalled_folder(delivery_id).exists():
            self.download(item, final)
        if not final.exists():  # recalled meanwhile (a restart after the move)
            return
        if self.exec_cmd and not (final / HANDED).exists():
            self.hand_over(final, delivery_id)
        if not (final / "receipt.json").exists():
            self.acknowledge(item, final)

    def download(self, item: dict[str, Any], final: Path) -> None:
        delivery_id = int(item["delivery_id"])
        document = item["document"]
        partial = self.out / ".partial" / str(delivery_id)
        (partial / "attachments").mkdir(parents=True, exist_ok=True)
        files = [(item["content_url"], partial / "document.pdf", document["sha256"], int(document.get("size") or 0))]
        for attachment in document.get("attachments") or []:
            sealed = attachment.get("sealed") or {}
            files.append((attachment["content_url"],
                          partial / "attachments" / f"{attachment['id']}-{safe_name(attachment['name'])}",
                          sealed.get("sha256") or attachment["sha256"],
                          int(sealed.get("size") or attachment.get("size") or 0)))
        for url, target, sha256, size in files:
            if target.exists():  # done before a restart; its hash was checked then
                continue
            part = target.with_name(target.name + ".part")
            self.fetch(url, part, sha256, size, f"{delivery_id}: {target.name}")
            os.replace(part, target)
        write_json_quickly(partial / "metadata.json", item)
        # durable before the ack tells the sender this agency holds them
        for path in [target for _, target, _, _ in files] + [partial / "metadata.json"]:
            fsync_file(path)
        sync_dir(partial / "attachments")
        sync_dir(partial)
        size = sum(target.stat().st_size for _, target, _, _ in files)
        os.replace(partial, final)
        sync_dir(self.out)
        with self.lock:
            self.summary.downloaded += 1
            self.summary.bytes += size
        log.info("delivery %s downloaded: %s", delivery_id, document.get("subject"),
                 extra={"delivery_id": delivery_id, "document_id": document.get("id"), "sha256": document["sha256"],
                        "files": len(files)})

    def fetch(self, url: str, part: Path, sha256: str, size: int, label: str) -> None:
        progress = self.progress
        if progress is None:
            self.api.download(url, part, sha256)
            return
        task = progress.add_task(label, total=size or None)
        try:
            self.api.download(url, part, sha256,
                              lambda done, total: progress.update(task, completed=done, total=total or None))
        finally:
            progress.remove_task(task)

    def hand_over(self, final: Path, delivery_id: int) -> None:
        argv = [*shlex.split(self.exec_cmd or ""), str(final)]
        env = {**os.environ, "LIENTHONG_DELIVERY_ID": str(delivery_id), "LIENTHONG_DELIVERY_DIR": str(final)}
        result = subprocess.run(argv, env=env)
        if result.returncode != 0:
            raise HandOverFailed(f"{argv[0]} exited with {result.returncode} for delivery {delivery_id}")
        (final / HANDED).touch()
        sync_dir(final)

    def receipt_key(self, refresh: bool = False) -> dict[str, Any]:
        if self._key is None or refresh:
            self._key = self.api.receipt_key()
        return self._key

    def acknowledge(self, item: dict[str, Any], final: Path) -> None:
        delivery_id = int(item["delivery_id"])
        try:
            answer = self.api.ack(delivery_id)
        except ApiError as error:
            if error.status != 409:
                raise
            # recalled before this ack could land: the events feed's recall.decided moves it
            log.warning("delivery %s cannot be acknowledged: %s", delivery_id, error.message,
                        extra={"delivery_id": delivery_id})
            return
        receipt = answer["receipt"]
        expected = {"delivery_id": delivery_id, "document_sha256": item["document"]["sha256"]}
        try:
            verify(receipt, self.receipt_key(), **expected)
        except ReceiptInvalid:  # the service may have rotated its key: ask for it once more
            verify(receipt, self.receipt_key(refresh=True), **expected)
        write_json(final / "receipt.json", receipt)
        with self.lock:
            self.summary.acked += 1
            self.summary.receipts_verified += 1
        log.info("delivery %s acknowledged, receipt verified", delivery_id, extra={"delivery_id": delivery_id})

    # ---- events ------------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        self.summary.events += 1
        kind, delivery_id, data = event.get("kind"), event.get("delivery_id"), event.get("data") or {}
        if not isinstance(delivery_id, int):
            return
        if kind == "recall.requested":
            self.recall_requested(int(delivery_id), str(data.get("reason") or ""))
        elif kind == "recall.decided" and data.get("accept"):
            self.move_to_recalled(int(delivery_id), str(data.get("reason") or ""))
        elif kind == "document.replaced":
            log.info("delivery %s: document replaced by document %s", delivery_id, data.get("replaced_by"),
                     extra={"delivery_id": delivery_id, "replaced_by": data.get("replaced_by")})

    def recall_requested(self, delivery_id: int, reason: str) -> None:
        if self.recalled_folder(delivery_id).exists() and not self.folder(delivery_id).exists():
            decision: tuple[bool, str] | None = (True, "")  # moved before a restart: answer again
        elif self.on_recall == "accept":
            decision = (True, "")
        else:
            decision = self.ask(f"Thu hồi văn bản {delivery_id}? / accept the recall of delivery "
                                f"{delivery_id}? ({reason})")
        if decision is None:
            if self.folder(delivery_id).exists():
                write_json(self.folder(delivery_id) / "recall-request.json", {"reason": reason})
            log.warning("recall of delivery %s awaits a decision (no terminal to ask)", delivery_id,
                        extra={"delivery_id": delivery_id, "reason": reason})
            return
        accept, answer = decision
        if accept:
            self.move_to_recalled(delivery_id, reason)
        try:
            self.api.recall_decision(delivery_id, accept, answer)
            self.summary.recall_answers += 1
        except ApiError as error:
            if error.status != 409:
                raise
            log.info("recall of delivery %s already decided", delivery_id, extra={"delivery_id": delivery_id})
        log.info("recall of delivery %s %s", delivery_id, "accepted" if accept else "refused",
                 extra={"delivery_id": delivery_id, "accept": accept})

    def move_to_recalled(self, delivery_id: int, reason: str) -> None:
        final, target = self.folder(delivery_id), self.recalled_folder(delivery_id)
        if not final.exists():
            return
        write_json(final / "recall.json", {"reason": reason})
        os.replace(final, target)
        sync_dir(self.out)
        self.summary.recalled += 1
        log.info("delivery %s moved to recalled/", delivery_id, extra={"delivery_id": delivery_id})

    def _ask_on_terminal(self, question: str) -> tuple[bool, str] | None:
        if not sys.stdin.isatty():
            return None
        if Confirm.ask(question, console=self.console):
            return True, ""
        return False, Prompt.ask("Lý do / reason", console=self.console, default="")


class HandOverFailed(Exception):
    """``--exec`` failed: the delivery stays unacknowledged and is handed over again next round."""


__all__ = ["Puller", "Summary", "HandOverFailed", "HashMismatch", "safe_name"]
