"""Webhooks: an agency's callback URLs, and their delivery by the worker (``flask worker``).

Subscriptions belong to one agency: its admin or its system token creates, lists and deletes
them, and reads their delivery log; another agency's caller finds nothing (404). The secret
that signs the bodies is made here and shown once, in the answer to the creation; the row keeps
it sealed under the deployment's ``secret_key`` (``exchange.adapters.sealed_secrets``).

Delivery (``claim`` then ``deliver``): a worker leases a subscription whose agency has events
after the subscription's ``cursor`` and whose next attempt is due — ``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so racing workers take different rows without waiting; on SQLite a conditional
``UPDATE … WHERE`` the lease is free, won by whoever's rowcount is 1. The lease holder POSTs
the events one by one, oldest first (the body is the event as ``GET /events`` shows it), and
moves the cursor past each one answered 2xx. A failure stops the subscription until its next
attempt (doubling delays): later events wait, so a receiver sees them in order. An event still
failing after ``webhooks_retry_s`` is marked failed and the cursor moves on. A worker killed
mid-way loses its lease when it expires; the next one starts again at the cursor, so an event
may arrive twice (same ``Lienthong-Event-Id``), never be lost. Each claim is a lease of its own
(:class:`Lease`): a holder that lost it, even to its own worker, is stopped at its next write,
and the cursor only moves forwards. Polling stays the source of truth.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Collection
from urllib.parse import urlsplit

import orjson
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from sqlmodel import Session, col

# The receivers' helper signs as the server does because it is the server's signature: one
# function and one pair of header names. The import goes this way only (the client, copied
# into agencies' systems, imports nothing of the server: pyproject's client-standalone).
from client.webhook_receiver import EVENT_ID_HEADER, SIGNATURE_HEADER
from client.webhook_receiver import sign as signature
from errors import NotFound, Unprocessable
from exchange.adapters import audit_log, webhook_http
from exchange.domain.caller import Caller
from exchange.domain.times import api_time
from exchange.models import AgencyEvent, WebhookDelivery, WebhookSubscription, utcnow
from exchange.services import events
from storage.db import execute_dml, key
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

log = logging.getLogger(__name__)

URL_MAX = 2000
DESCRIPTION_MAX = 255
SUBSCRIPTIONS_MAX = 20  # per agency
BACKOFF_MAX_S = 3600.0
BATCH = 20  # events read per look at the feed
LOG_LIMIT_MAX = 200
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


# --- subscriptions ------------------------------------------------------------------------------

def check_url(url: str, *, allow_private: bool) -> str:
    """The URL as it will be called; :class:`Unprocessable` (field ``url``) when it may not be."""
    def refuse(reason: Any) -> Unprocessable:
        return Unprocessable(_l("invalid callback URL"), fields={"url": reason})

    url = url.strip()
    if not url or len(url) > URL_MAX:
        raise refuse(_l("required, at most %(max)s characters", max=URL_MAX))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse(_l("not a URL")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse(_l("use an http:// or https:// URL with a host name"))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise refuse(_l("a callback URL may not carry a user name or password"))
    if parts.fragment or port == 0:
        raise refuse(_l("not a URL"))
    try:  # kept as it will be called: an IDN host in punycode (ví-dụ.vn: xn--v-d-rma6749a.vn)
        url = webhook_http.wire_url(url)
    except UnicodeError:
        raise refuse(_l("not a URL")) from None
    if len(url) > URL_MAX:
        raise refuse(_l("required, at most %(max)s characters", max=URL_MAX))
    host = urlsplit(url).hostname or ""
    if webhook_http.is_ip_literal(host) and not allow_private and not webhook_http.is_public(host):
        raise refuse(_l("private, loopback and link-local addresses are not allowed"))
    if not allow_private:
        try:
            webhook_http.resolve(host, port or 443, allow_private=False)
        except webhook_http.AddressRefused:
            raise refuse(_l("the host does not resolve to a public address")) from None
    return url


def _subscription_out(sub: WebhookSubscription) -> dict[str, Any]:
    return {"id": sub.id, "url": sub.url, "description": sub.description, "cursor": sub.cursor,
            "created_at": api_time(sub.created_at), "created_by": sub.created_by}


def _own(session: Session, caller: Caller, subscription_id: int) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None or sub.deleted_at is not None or sub.agency_id != caller.agency_id:
        raise NotFound(_l("no webhook %(id)s", id=subscription_id))
    return sub


SECRET_PREFIX = "whsec_"


def _secret_of(svc: "Services", sub: WebhookSubscription) -> str:
    """The subscription's signing secret: sealed in the row (``exchange.adapters.sealed_secrets``),
    or, for a row written before sealing, the secret itself."""
    if sub.secret.startswith(SECRET_PREFIX):
        return sub.secret
    return SECRET_PREFIX + svc.webhook_secrets.open(sub.secret)


def subscribe(svc: "Services", caller: Caller, url: str, description: str = "") -> dict[str, Any]:
    """A new subscription of the caller's agency, from its next event on; the answer alone holds the secret."""
    url = check_url(url, allow_private=svc.settings.webhooks_allow_private)
    if len(description) > DESCRIPTION_MAX:
        raise Unprocessable(_l("invalid callback URL"),
                            fields={"description": _l("at most %(max)s characters", max=DESCRIPTION_MAX)})
    token = secrets.token_urlsafe(32)
    secret = SECRET_PREFIX + token
    with svc.uow(write=True) as uow:
        session = uow.session
        count = session.execute(sa.select(sa.func.count()).select_from(WebhookSubscription)
                                .where(col(WebhookSubscription.agency_id) == caller.agency_id,
                                       col(WebhookSubscription.deleted_at).is_(None))).scalar_one()
        if count >= SUBSCRIPTIONS_MAX:
            raise Unprocessable(_l("an agency may have at most %(max)s webhooks", max=SUBSCRIPTIONS_MAX))
        # from now on: what happened before is in the events feed
        cursor = session.execute(sa.select(sa.func.coalesce(sa.func.max(AgencyEvent.seq), 0))
                                 .where(col(AgencyEvent.agency_id) == caller.agency_id)).scalar_one()
        sub = WebhookSubscription(agency_id=caller.agency_id, url=url, description=description,
                                  secret=svc.webhook_secrets.seal(token),
                                  cursor=cursor, created_by=caller.actor)
        session.add(sub)
        session.flush()
        audit_log.record(session, actor=caller.actor, agency_code=caller.agency_code, action="webhook.create",
                         object=f"webhook:{sub.id}", details={"url": url})
        uow.commit()
    return {**_subscription_out(sub), "secret": secret}


def list_subscriptions(svc: "Services", caller: Caller) -> list[dict[str, Any]]:
    with svc.uow() as uow:
        rows = uow.session.execute(sa.select(WebhookSubscription)
                                   .where(col(WebhookSubscription.agency_id) == caller.agency_id,
                                          col(WebhookSubscription.deleted_at).is_(None))
                                   .order_by(col(WebhookSubscription.id))).scalars().all()
        return [_subscription_out(sub) for sub in rows]


def unsubscribe(svc: "Services", caller: Caller, subscription_id: int) -> None:
    """No more deliveries; its log stays readable to nobody (the subscription is gone for the API)."""
    with svc.uow(write=True) as uow:
        sub = _own(uow.session, caller, subscription_id)
        sub.deleted_at = utcnow()
        uow.session.add(sub)
        audit_log.record(uow.session, actor=caller.actor, agency_code=caller.agency_code, action="webhook.delete",
                         object=f"webhook:{sub.id}", details={"url": sub.url})
        uow.commit()


def delivery_log(svc: "Services", caller: Caller, subscription_id: int, limit: int = 100) -> dict[str, Any]:
    """The subscription's latest deliveries, newest event first."""
    with svc.uow() as uow:
        sub = _own(uow.session, caller, subscription_id)
        rows = uow.session.execute(sa.select(WebhookDelivery)
                                   .where(col(WebhookDelivery.subscription_id) == subscription_id)
                                   .order_by(col(WebhookDelivery.event_seq).desc())
                                   .limit(min(max(limit, 1), LOG_LIMIT_MAX))).scalars().all()
        items = [{"event_id": d.event_id, "event_seq": d.event_seq, "attempts": d.attempts,
                  "status_code": d.status_code, "error": d.error, "state": d.state,
                  "next_attempt_at": api_time(d.next_attempt_at), "updated_at": api_time(d.updated_at)}
                 for d in rows]
        return {"subscription": _subscription_out(sub), "items": items}


# --- delivery (the worker) ------------------------------------------------------------------------

OWNER_MAX = 54  # a lease's holder is "<owner>/<8 hex>", in lease_owner's 64 characters


@dataclass(frozen=True)
class Lease:
    """One claim of one subscription: ``holder`` is the claimer's name and a random part of
    this claim alone, so that a lease taken again (by another worker, or by the same one
    after it ran out) is not mistaken for the earlier one, whose thread may still be
    delivering: that thread's next write finds another holder and it stops."""

    subscription_id: int
    holder: str


def claim(svc: "Services", owner: str, limit: int = 10, *, busy: Collection[int] = ()) -> list[Lease]:
    """Lease up to ``limit`` subscriptions that have due work to ``owner``, none of ``busy``
    (those the caller is still delivering, whose lease may have run out meanwhile)."""
    if not 0 < len(owner) <= OWNER_MAX:
        raise ValueError(f"a lease owner has 1 to {OWNER_MAX} characters")
    now = utcnow()
    sub = WebhookSubscription
    lease_until = now + timedelta(seconds=svc.settings.webhooks_lease_s)
    has_events = sa.exists().where(col(AgencyEvent.agency_id) == col(sub.agency_id),
                                   col(AgencyEvent.seq) > col(sub.cursor))
    free = sa.or_(col(sub.lease_until).is_(None), col(sub.lease_until) < now)
    due = sa.select(key(sub.id)).where(col(sub.deleted_at).is_(None), col(sub.next_attempt_at) <= now, free,
                                       has_events).order_by(col(sub.next_attempt_at)).limit(limit)
    if busy:
        due = due.where(key(sub.id).not_in(list(busy)))
    leases: list[Lease] = []
    with svc.uow(write=True) as uow:
        session = uow.session
        postgresql = session.get_bind().dialect.name == "postgresql"
        # PostgreSQL: the rows are locked (SKIP LOCKED: racing workers take others); SQLite has
        # no row locks: each claim is an UPDATE that only one worker's rowcount wins
        ids = list(session.execute(due.with_for_update(skip_locked=True) if postgresql else due).scalars())
        for subscription_id in ids:
            lease = Lease(subscription_id, f"{owner}/{secrets.token_hex(4)}")
            if execute_dml(session, sa.update(sub).where(key(sub.id) == subscription_id, free)
                           .values(lease_owner=lease.holder, lease_until=lease_until)) == 1:
                leases.append(lease)
        uow.commit()
    return leases


def release(svc: "Services", owner: str) -> None:
    """Give up every lease ``owner`` holds (a worker stopping cleanly)."""
    sub = WebhookSubscription
    with svc.uow(write=True) as uow:
        execute_dml(uow.session, sa.update(sub).where(col(sub.lease_owner).startswith(f"{owner}/", autoescape=True))
                    .values(lease_owner=None, lease_until=None))
        uow.commit()


def _hold(session: Session, lease: Lease, lease_s: float, *, advance_to: int | None = None, **values: Any) -> bool:
    """Renew (or, with values, change) the subscription while ``lease`` holds it; False once
    lost. ``advance_to``: the new cursor, only ever forwards (False if it is there already)."""
    sub = WebhookSubscription
    changes = {"lease_until": utcnow() + timedelta(seconds=lease_s), **values}
    held = [key(sub.id) == lease.subscription_id, col(sub.lease_owner) == lease.holder, col(sub.deleted_at).is_(None)]
    if advance_to is not None:
        held.append(col(sub.cursor) < advance_to)
        changes["cursor"] = advance_to
    return execute_dml(session, sa.update(sub).where(*held).values(**changes)) == 1


def backoff(settings_backoff_s: float, attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: doubling from the first delay, at most an hour."""
    return float(min(settings_backoff_s * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def _log_attempt(svc: "Services", lease: Lease, item: dict[str, Any], answer: webhook_http.Answer) -> bool:
    """Log one attempt at ``item`` and move the subscription on (one transaction, which also
    renews the lease); True when it may go on with its next event. False when the event waits
    for its next attempt (the lease is given back) or the lease was lost to another worker."""
    settings = svc.settings
    now = utcnow()
    with svc.uow(write=True) as uow:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            # no wait for the WAL flush: a database crash may forget the last few ms of these
            # commits, and the events they recorded are sent again (same ids): at-least-once holds
            session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        row = session.execute(sa.select(WebhookDelivery)
                              .where(col(WebhookDelivery.subscription_id) == lease.subscription_id,
                                     col(WebhookDelivery.event_id) == item["id"])).scalar_one_or_none()
        if row is None:
            row = WebhookDelivery(subscription_id=lease.subscription_id, event_id=item["id"], event_seq=item["seq"],
                                  created_at=now)
        row.attempts += 1
        row.status_code, row.error, row.updated_at = answer.status, answer.error[:500], now
        if answer.ok or (now - row.created_at).total_seconds() >= settings.webhooks_retry_s:
            row.state, row.next_attempt_at = (DELIVERED if answer.ok else FAILED), None
            held = _hold(session, lease, settings.webhooks_lease_s, advance_to=row.event_seq)
        else:
            row.next_attempt_at = now + timedelta(seconds=backoff(settings.webhooks_backoff_s, row.attempts))
            held = _hold(session, lease, settings.webhooks_lease_s, next_attempt_at=row.next_attempt_at,
                         lease_owner=None, lease_until=None)
        if not held:
            return False  # another worker has it now: its own attempt will be logged
        session.add(row)
        uow.commit()
    return row.state != PENDING


def deliver(svc: "Services", lease: Lease, stop: threading.Event | None = None) -> int:
    """POST the leased subscription's pending events in order until none is left, one fails, the
    lease is lost or ``stop`` is set; then give the lease back. The number delivered."""
    settings = svc.settings
    delivered = 0
    with svc.uow() as uow:
        sub = uow.session.get(WebhookSubscription, lease.subscription_id)
    if sub is None or sub.lease_owner != lease.holder:
        return 0
    try:
        secret = _secret_of(svc, sub)
    except (InvalidTag, ValueError):
        # sealed under another secret_key (a database restored beside another data folder):
        # nothing can be signed for its receiver; the agency must create the webhook again
        log.error("webhook %s: its secret does not open with this node's secret_key; nothing sent", sub.id)
        return 0
    cursor, done = sub.cursor, False
    while not done and not (stop is not None and stop.is_set()):
        items = events.read(svc, sub.agency_id, cursor, BATCH)
        if not items:
            break
        for item in items:
            if stop is not None and stop.is_set():
                done = True
                break
            body = orjson.dumps(item)
            headers = {EVENT_ID_HEADER: str(item["id"]),
                       SIGNATURE_HEADER: signature(secret, int(time.time()), body)}
            answer = webhook_http.post(sub.url, body, headers, timeout=settings.webhooks_timeout_s,
                                       allow_private=settings.webhooks_allow_private)
            if not _log_attempt(svc, lease, item, answer):
                return delivered  # waits for its next attempt (the lease is given back)
            delivered += answer.ok
            cursor = item["seq"]
    with svc.uow(write=True) as uow:
        _hold(uow.session, lease, 0, lease_owner=None, lease_until=None)
        uow.commit()
    return delivered
