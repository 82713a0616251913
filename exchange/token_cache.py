"""A short-lived, in-process cache of bearer-token lookups.

Agency systems poll their inbox many times a minute; without this cache the token lookup
is most of an empty poll's cost. Entries live ``ttl`` seconds (``LIENTHONG_TOKEN_CACHE_SECONDS``,
default 2; 0 turns the cache off). A change made in this process (token revoked, user
deactivated, roles or password changed) clears the cache when its transaction commits;
another process sees such a change within ``ttl`` seconds at the latest.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Hashable

import sqlalchemy as sa
from sqlmodel import Session

_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, Any]] = {}
_ttl = 2.0
_MAX_ENTRIES = 200_000


def configure(ttl_seconds: float) -> None:
    global _ttl
    _ttl = max(0.0, ttl_seconds)
    clear()


def get(key: Hashable) -> Any | None:
    entry = _entries.get(key)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def put(key: Hashable, value: Any) -> None:
    if _ttl <= 0:
        return
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (time.monotonic() + _ttl, value)


def clear() -> None:
    with _lock:
        _entries.clear()


def clear_after_commit(session: Session) -> None:
    """Clear once ``session``'s transaction commits (and now, so no request re-caches the old
    state in between)."""
    clear()
    sa.event.listen(session, "after_commit", lambda _s: clear(), once=True)
