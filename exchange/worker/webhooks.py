"""The webhooks' worker loop: lease subscriptions with due events, deliver each in a thread.

Any number of workers may run (on several machines): the leases (``exchange.services.webhooks``)
give each subscription to one of them at a time. SIGTERM or Ctrl-C stops the loop: the
deliveries under way finish their current POST, the leases are given back, the process exits.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from exchange.services import webhooks

if TYPE_CHECKING:
    from bootstrap import Services

log = logging.getLogger(__name__)
UNAVAILABLE_PAUSE_S = 5.0


def worker_id() -> str:
    """Names this process's leases: host, pid and a random part (a pid is reused after a restart);
    each claim adds its own (``webhooks.Lease``)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def run(svc: "Services", stop: threading.Event, *, concurrency: int = 4) -> None:
    """Deliver until ``stop`` is set."""
    owner = worker_id()
    busy: dict[Future[int], int] = {}  # each delivery under way, and its subscription
    log.info("webhooks worker %s started (%s at once)", owner, concurrency)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="lienthong-webhook") as pool:
        try:
            while not stop.is_set():
                busy = {f: i for f, i in busy.items() if not f.done()}
                room = concurrency - len(busy)
                try:
                    # not those still under way here: a lease that ran out mid-POST is free in the
                    # database, and a second thread would send the same events beside the first
                    claimed = webhooks.claim(svc, owner, room, busy=busy.values()) if room > 0 else []
                except Exception:  # the database away for a while: the worker waits for it, it does not exit
                    log.exception("webhooks worker %s: cannot claim work", owner)
                    stop.wait(UNAVAILABLE_PAUSE_S)
                    continue
                for lease in claimed:
                    busy[pool.submit(_deliver, svc, lease, stop)] = lease.subscription_id
                if not claimed:
                    stop.wait(svc.settings.worker_poll_s)
        finally:
            stop.set()
            pool.shutdown(wait=True)
            try:
                webhooks.release(svc, owner)
            except Exception:  # the leases run out by themselves
                log.exception("webhooks worker %s: cannot give its leases back", owner)
            log.info("webhooks worker %s stopped", owner)


def _deliver(svc: "Services", lease: webhooks.Lease, stop: threading.Event) -> int:
    try:
        return webhooks.deliver(svc, lease, stop)
    except Exception:  # the lease expires and another round takes it up again
        log.exception("webhook %s: delivery failed", lease.subscription_id)
        return 0
