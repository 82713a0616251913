"""``lienthong-client`` (also ``python -m client``): the agency's system on the command line.

    lienthong-client [--server URL] [--token TOKEN] [--json-logs] COMMAND ...
      pull --out DIR [--once] [--exec CMD] [--on-recall accept|ask] [--wait S]
      status DELIVERY_ID accepted|assigned|processing|completed|returned [--reason TEXT]
      send FILE --to CODE [CODE ...] [--metadata JSON] | send --document ID --to CODE ...
      events [--after CURSOR] [--limit N]
      verify-receipt RECEIPT.json [--key KEY.json]

``--server`` and ``--token`` default to ``LIENTHONG_SERVER`` and ``LIENTHONG_TOKEN`` (prefer the
variable for the token: a command line is visible to every user of the machine).
Exit status: 0 done, 1 failed (the server unreachable after the retries, a bad file...),
2 refused (bad arguments, a 4xx from the server), 3 a receipt that does not verify.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any, Callable

import httpx
from pythonjsonlogger.json import JsonFormatter
from rich.console import Console
from rich.logging import RichHandler

from client import __version__
from client.api import Api, ApiError, HashMismatch, RetryPolicy, Stopped
from client.pull import HandOverFailed, Puller
from client.receipts import ReceiptInvalid, verify

STATUSES = ("accepted", "assigned", "processing", "completed", "returned")
log = logging.getLogger("lienthong_client")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lienthong-client", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"lienthong-client {__version__}")
    p.add_argument("--server", default=os.environ.get("LIENTHONG_SERVER"),
                   help="base URL of the service (LIENTHONG_SERVER)")
    p.add_argument("--token", default=os.environ.get("LIENTHONG_TOKEN"),
                   help="the agency system's API token (LIENTHONG_TOKEN; prefer the variable)")
    p.add_argument("--json-logs", action="store_true", help="one JSON object per log line on stderr (services)")
    p.add_argument("--retries", type=int, default=8, help="attempts per request on network errors, 429, 5xx")
    p.add_argument("--timeout", type=float, default=30, help="seconds per request (beyond a long-poll's wait)")
    sub = p.add_subparsers(dest="command", required=True)

    pull = sub.add_parser("pull", help="download, check, acknowledge every new delivery; apply recalls")
    pull.add_argument("--out", required=True, type=Path, help="the folder the documents go to")
    pull.add_argument("--once", action="store_true", help="stop when the inbox and the events are drained")
    pull.add_argument("--exec", dest="exec_cmd", metavar="CMD",
                      help="run CMD with each delivery's folder as its last argument before acknowledging it")
    pull.add_argument("--on-recall", choices=("accept", "ask"), default="accept",
                      help="accept every recall, or ask on the terminal")
    pull.add_argument("--wait", type=float, default=30, help="long-poll seconds (at most 60)")
    pull.add_argument("--parallel", type=int, default=4,
                      help="deliveries handled at once (1 with --exec: hand-overs stay in inbox order)")

    status = sub.add_parser("status", help="move a received delivery along its lifecycle")
    status.add_argument("delivery_id", type=int)
    status.add_argument("status", choices=STATUSES)
    status.add_argument("--reason", help="required for returned")

    send = sub.add_parser("send", help="upload a signed PDF (or name a document) and dispatch it")
    what = send.add_mutually_exclusive_group(required=True)
    what.add_argument("file", nargs="?", type=Path, help="the signed PDF")
    what.add_argument("--document", type=int, help="an already uploaded document's id")
    send.add_argument("--to", nargs="+", required=True, metavar="CODE", help="recipient agency codes")
    send.add_argument("--metadata", default="{}", help="the document's metadata as JSON (or @file.json)")

    events = sub.add_parser("events", help="print the agency's events after a cursor, one JSON per line")
    events.add_argument("--after", default="")
    events.add_argument("--limit", type=int, default=100)

    receipt = sub.add_parser("verify-receipt", help="check a transport receipt's signature")
    receipt.add_argument("receipt", type=Path)
    receipt.add_argument("--key", type=Path, help="the key as /api/v1/receipts/key answers it (else asked for)")
    return p


def setup_logging(json_logs: bool, console: Console) -> None:
    handler: logging.Handler
    if json_logs:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler = RichHandler(console=console, show_path=False)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _stop_on_signals(stop: threading.Event, idle: threading.Event | None = None) -> None:
    """SIGTERM and SIGINT end the work cleanly: at once while waiting, else after the item at hand."""
    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        log.info("stopping (%s)", signal.Signals(signum).name)
        if idle is not None and idle.is_set():
            raise Stopped()
    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _pull(api: Api, args: argparse.Namespace, console: Console) -> int:
    puller = Puller(api, args.out, wait=min(max(args.wait, 0), 60), exec_cmd=args.exec_cmd,
                    on_recall=args.on_recall, console=console, parallel=1 if args.exec_cmd else args.parallel)
    _stop_on_signals(api.stop, puller.idle)
    status = 0
    failures = 0
    while True:
        try:
            puller.run(once=args.once)
            break
        except Stopped:
            break
        except ApiError as error:
            if error.status in (401, 403):
                log.error("refused: %s", error)
                puller.summary.errors.append(str(error))
                status = 2
                break
            status = _failed(puller, error, args.once)
        except (httpx.HTTPError, HashMismatch, HandOverFailed, OSError, ReceiptInvalid) as error:
            status = 3 if isinstance(error, ReceiptInvalid) else _failed(puller, error, args.once)
            if isinstance(error, ReceiptInvalid):
                log.error("receipt does not verify: %s", error)
                puller.summary.errors.append(str(error))
        if args.once or api.stop.is_set():
            break
        failures += 1
        try:  # the whole round again later; each request already retried with back-off
            api._sleep(min(60.0, 2.0 ** min(failures, 6)))
        except Stopped:
            break
    if args.json_logs:
        log.info("summary", extra=puller.summary.as_dict())
    else:
        console.print(puller.summary.table())
    return status


def _failed(puller: Puller, error: Exception, once: bool) -> int:
    log.error("%s: %s", type(error).__name__, error)
    puller.summary.errors.append(f"{type(error).__name__}: {error}")
    return 1


def _metadata(value: str) -> str:
    text = Path(value[1:]).read_text("utf-8") if value.startswith("@") else value
    json.loads(text)  # refuse a malformed one here rather than at the server
    return text


def _send(api: Api, args: argparse.Namespace, out: Callable[[Any], None]) -> int:
    document_id = args.document
    if args.file is not None:
        identity = hashlib.sha256(args.file.read_bytes()).hexdigest()
        metadata = _metadata(args.metadata)
        # a retried upload (the answer lost on the way) is the same document, not a second one
        upload_key = hashlib.sha256(f"upload|{identity}|{metadata}".encode()).hexdigest()[:40]
        document_id = int(api.upload(args.file, metadata, upload_key)["id"])
    else:
        identity = f"document-{document_id}"
    # the same file to the same agencies is one dispatch, however often it is retried
    key = hashlib.sha256(f"{identity}|{','.join(sorted(args.to))}".encode()).hexdigest()[:40]
    out(api.dispatch(document_id, list(args.to), key))
    return 0


def _verify_receipt(api: Api | None, args: argparse.Namespace, out: Callable[[Any], None]) -> int:
    receipt = json.loads(args.receipt.read_text("utf-8"))
    if args.key:
        key = json.loads(args.key.read_text("utf-8"))
    elif api is not None:
        key = api.receipt_key()
    else:
        raise SystemExit("verify-receipt needs --key or --server")
    try:
        verify(receipt, key)
    except ReceiptInvalid as error:
        out({"valid": False, "error": str(error)})
        return 3
    out({"valid": True, "delivery_id": receipt.get("delivery_id"), "document_sha256": receipt.get("document_sha256"),
         "received_at": receipt.get("received_at"), "kid": key.get("kid")})
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=True)
    setup_logging(args.json_logs, console)

    def out(value: Any) -> None:
        sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    needs_token = args.command != "verify-receipt"
    if not args.server and not (args.command == "verify-receipt" and args.key):
        parser().error("--server or LIENTHONG_SERVER is required")
    if needs_token and not args.token:
        parser().error("--token or LIENTHONG_TOKEN is required")
    stop = threading.Event()
    api = Api(args.server, args.token or "", timeout=args.timeout, policy=RetryPolicy(attempts=max(1, args.retries)),
              stop=stop) if args.server else None
    try:
        if args.command == "pull":
            assert api is not None
            return _pull(api, args, console)
        if args.command == "verify-receipt":
            return _verify_receipt(api, args, out)
        assert api is not None
        _stop_on_signals(stop)
        if args.command == "status":
            out(api.status(args.delivery_id, args.status, args.reason))
        elif args.command == "send":
            return _send(api, args, out)
        elif args.command == "events":
            for event in api.events(args.after, limit=args.limit)["items"]:
                out(event)
        return 0
    except ApiError as error:
        log.error("refused: %s", error)
        return 2
    except (httpx.HTTPError, OSError, ValueError) as error:
        log.error("%s: %s", type(error).__name__, error)
        return 1
    except Stopped:
        return 0
    finally:
        if api is not None:
            api.close()


if __name__ == "__main__":
    raise SystemExit(main())
