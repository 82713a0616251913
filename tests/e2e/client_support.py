"""The agency client (``client/``) as a real process beside a live server, for the client's
end-to-end tests and ``bench/client.py``: documents dispatched through the service, clients
started as ``python -m client`` (the package from this checkout, as ``pip install ./client``
would install it), their folders read back."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tests.e2e.gunicorn_support import ROOT
from tests.exchange_fixtures import World, caller_for, make_pdf, padded_pdf, store_document

STATE_FILE = ".lienthong-client.json"


@dataclass
class Sent:
    document_id: int
    sha256: str
    deliveries: dict[str, int]  # recipient code → delivery id
    attachment_sha256: str | None = None


def send_document(services: Any, world: World, to: list[str], label: str, *, kilobytes: int = 0,
                  attachment: bytes | None = None) -> Sent:
    """A sealed document of the province dispatched to ``to`` through the service (no HTTP)."""
    from exchange.services import attachments
    from exchange.services.dispatch import Recipients, dispatch_document
    from tests.db import session_scope

    pdf = padded_pdf(kilobytes, label.encode()) if kilobytes else make_pdf(f"Văn bản {label}")
    with session_scope(services.engine, write=True) as session:
        document_id = store_document(session, services.blobs, world, pdf=pdf)
    attachment_sha = None
    if attachment is not None:
        attachments.add_attachment(services, caller_for(world, "clerk"), document_id, io.BytesIO(attachment),
                                   "phụ lục ../../x.txt", "text/plain")
        attachment_sha = hashlib.sha256(attachment).hexdigest()
    from exchange.models import Document

    with session_scope(services.engine, write=True) as session:
        session.get(Document, document_id).state = "sealed"  # type: ignore[union-attr]  # the seal's own tests sign
    view, _ = dispatch_document(services, caller_for(world, "clerk"), document_id, Recipients(to=tuple(to)),
                                f"client-{label}")
    deliveries = {d["recipient"]: d["id"] for d in view["deliveries"]}
    return Sent(document_id, hashlib.sha256(pdf).hexdigest(), deliveries, attachment_sha)


def client_argv(base: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "client", "--server", base, *args]


def start_client(base: str, token: str, out: Path, *extra: str, log: Path) -> subprocess.Popen[bytes]:
    """``lienthong-client --json-logs pull --out OUT`` in the background, its stderr appended to ``log``."""
    env = {**os.environ, "LIENTHONG_TOKEN": token, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as sink:
        return subprocess.Popen(client_argv(base, "--json-logs", "pull", "--out", str(out), "--wait", "5", *extra),
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sink)


def run_client(base: str, token: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # Wide enough that rich never folds a message the tests look for (the tmp paths vary in length).
    env = {**os.environ, "LIENTHONG_TOKEN": token, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}
    return subprocess.run(client_argv(base, *args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def delivered(out: Path) -> dict[int, Path]:
    """The client's finished deliveries (acknowledged: receipt written), by delivery id."""
    if not out.exists():
        return {}
    return {int(p.name): p for p in out.iterdir() if p.name.isdigit() and (p / "receipt.json").exists()}


def recalled(out: Path) -> dict[int, Path]:
    folder = out / "recalled"
    return {int(p.name): p for p in folder.iterdir() if p.name.isdigit()} if folder.exists() else {}


def wait_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def log_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text("utf-8").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


class FaultyProxy:
    """A real HTTP proxy on 127.0.0.1 in front of the live server. ``faults`` queues
    ``(path part, fault)``: the next request whose path holds the part gets the fault, ``"503"``
    / ``"429"`` (with ``Retry-After: 1``), ``"drop"`` (the connection closed without an
    answer) or ``"cut"`` (the answer's body broken off halfway). ``seen`` lists each request's
    method, path and Range header."""

    def __init__(self, upstream: str) -> None:
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        self.faults: list[tuple[str, str]] = []
        self.seen: list[tuple[str, str, str | None]] = []
        lock = threading.Lock()
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def relay(self) -> None:
                with lock:
                    proxy.seen.append((self.command, self.path, self.headers.get("Range")))
                    fault = None
                    for i, (part, kind) in enumerate(proxy.faults):
                        if part in self.path:
                            fault = kind
                            del proxy.faults[i]
                            break
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if fault in ("503", "429"):
                    self.send_response(int(fault))
                    payload = '{"error": {"code": "unavailable", "message": "thử lại sau"}}'.encode()
                    for name, value in (("Retry-After", "1"), ("Content-Type", "application/json"),
                                        ("Content-Length", str(len(payload)))):
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault == "drop":
                    self.close_connection = True
                    return
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=90)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream_conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream_conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if fault == "cut" else data)
                if fault == "cut":
                    self.close_connection = True
                upstream_conn.close()

            do_GET = do_POST = relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultyProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def signed_pdf(services: Any, world: World, label: str) -> bytes:
    """A PDF with a valid person signature of the province signer (B-LT), signed through the
    service in-process: what an agency's own signing system hands to ``send FILE``."""
    from exchange.models import Revision
    from exchange.services.signatures import sign_document
    from sqlmodel import col, select
    from storage.blobs import read_bytes
    from tests.db import session_scope
    from tests.signing_world import SigningWorld, issue_credentials

    issue_credentials(services.engine, services.settings, SigningWorld(world, {}), "signer")
    with session_scope(services.engine, write=True) as session:
        document_id = store_document(session, services.blobs, world, pdf=make_pdf(f"Văn bản {label}"))
    sign_document(services, caller_for(world, "signer"), document_id, profile="person", level="B-LT")
    with session_scope(services.engine) as session:
        latest = session.exec(select(Revision).where(Revision.document_id == document_id)
                              .order_by(col(Revision.seq).desc())).first()
        assert latest is not None
        sha256 = latest.blob_sha256
    return read_bytes(services.blobs, sha256)
