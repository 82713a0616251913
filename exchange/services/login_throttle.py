"""Login back-off: failures counted per client address (across usernames) and per account
(across addresses), and per pair; past a few free attempts each key must wait an
exponentially growing delay after its last failure (back-off, never a lockout: the
rightful user is let in once the delay has passed). Counts live in ``login_failure`` —
never in the audit chain — so every app process sees the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from errors import TooManyRequests
from exchange.models import LoginFailure
from storage.db import execute_dml
from translations import _l

WINDOW = timedelta(minutes=15)  # failures older than this are forgotten (and pruned)
BASE_DELAY = timedelta(seconds=30)  # the first wait once a key's free attempts are used up
MAX_DELAY = WINDOW
# free attempts before the back-off starts: a user mistyping from their desk (pair) meets it
# first; one address trying many accounts (a spray) and one account tried from many
# addresses (a distributed guess) get more room, since colleagues share addresses
FREE_PER_PAIR = 5
FREE_PER_ACCOUNT = 10
FREE_PER_ADDRESS = 20
SUMMARY_AT = frozenset(10 ** k for k in range(7))  # 1, 10, 100, …: a summary event in the chain


@dataclass(frozen=True)
class FailureCounts:
    from_ip: int
    for_user: int


def _wait(session: Session, since: datetime, now: datetime, free: int, *where: sa.ColumnElement[bool]) -> float:
    count, last = session.execute(
        sa.select(sa.func.count(), sa.func.max(col(LoginFailure.at)))
        .where(col(LoginFailure.at) >= since, *where)).one()
    if count < free or last is None:
        return 0.0
    delay = min(BASE_DELAY * 2 ** min(count - free, 30), MAX_DELAY)
    return max(0.0, (last + delay - now).total_seconds())


def check(session: Session, username: str, ip: str, now: datetime) -> None:
    """429 with ``Retry-After`` while any of the caller's keys is backing off."""
    since = now - WINDOW
    by_ip, by_user = col(LoginFailure.ip) == ip, col(LoginFailure.username) == username
    wait = max(_wait(session, since, now, FREE_PER_PAIR, by_ip, by_user),
               _wait(session, since, now, FREE_PER_ACCOUNT, by_user),
               _wait(session, since, now, FREE_PER_ADDRESS, by_ip))
    if wait > 0:
        seconds = math.ceil(wait)
        raise TooManyRequests(_l("too many failed logins; try again in %(seconds)s seconds", seconds=seconds),
                              retry_after=seconds)


def record_failure(session: Session, username: str, ip: str, now: datetime) -> FailureCounts:
    """Count one failure (and forget the expired ones); the counts including it."""
    since = now - WINDOW
    execute_dml(session, sa.delete(LoginFailure).where(col(LoginFailure.at) < since))
    session.add(LoginFailure(username=username, ip=ip, at=now))
    session.flush()

    def count(*where: sa.ColumnElement[bool]) -> int:
        return int(session.execute(sa.select(sa.func.count()).select_from(LoginFailure)
                                   .where(col(LoginFailure.at) >= since, *where)).scalar_one())

    return FailureCounts(from_ip=count(col(LoginFailure.ip) == ip),
                         for_user=count(col(LoginFailure.username) == username))


def worth_a_summary(counts: FailureCounts, *, account_exists: bool) -> bool:
    """A summary when the address's count reaches 1, 10, 100, …, or a real account's does
    (made-up usernames of a spray never earn one each: the chain grows by the logarithm)."""
    return counts.from_ip in SUMMARY_AT or (account_exists and counts.for_user in SUMMARY_AT)


def forget_pair(session: Session, username: str, ip: str) -> None:
    """A successful login clears that user's own mistakes from that address (not the
    address's failures on other accounts, nor the account's from other addresses)."""
    execute_dml(session, sa.delete(LoginFailure).where(col(LoginFailure.username) == username,
                                                       col(LoginFailure.ip) == ip))
