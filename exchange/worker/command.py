"""``flask --app app worker``: the outbox's consumer process (docs/deployment.md)."""
from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from exchange.worker import webhooks


@click.command("worker", help="Gửi webhook / deliver every agency's events to its webhooks, until SIGTERM or "
                              "Ctrl-C. Run one or more beside the web server.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="subscriptions delivered at once")
@with_appcontext
def worker_command(concurrency: int) -> None:
    services = current_app.extensions["lienthong.services"]
    current_app.extensions["lienthong.configure_logs"]()  # LIENTHONG_LOG_FORMAT, as the web server logs
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    webhooks.run(services, stop, concurrency=concurrency)
