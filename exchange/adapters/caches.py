"""In-process caches, each owned by the ``Services`` object (never a module global), so two
apps in one process never share entries.

- :class:`TokenCache`: bearer-token lookups. Agency systems poll their inbox many times a
  minute; without it the token lookup is most of an empty poll's cost. Entries live ``ttl``
  seconds (``LIENTHONG_TOKEN_CACHE_SECONDS``, default 2; 0 turns it off). A change made in
  this process (token revoked, user deactivated, roles changed) clears it when its
  transaction commits; another process sees such a change within ``ttl`` at the latest.
- :class:`DispatchCache`: what an inbox item shows of its dispatch (document metadata,
  revision, sender), which never changes once sent, and parsed hop traces.
"""
from __future__ import annotations

import threading
from typing import Any, Hashable

from cachetools import LRUCache, TTLCache

TOKEN_CACHE_MAX = 200_000
DISPATCH_CACHE_MAX = 20_000


class TokenCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = max(0.0, ttl_seconds)
        self._lock = threading.Lock()
        self._entries: TTLCache[Hashable, Any] | None = (
            TTLCache(maxsize=TOKEN_CACHE_MAX, ttl=self.ttl) if self.ttl > 0 else None)

    def get(self, key: Hashable) -> Any | None:
        if self._entries is None:
            return None
        with self._lock:  # cachetools' caches are not thread-safe
            return self._entries.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        if self._entries is None:
            return
        with self._lock:
            self._entries[key] = value

    def clear(self) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries.clear()


class DispatchCache:
    def __init__(self, maxsize: int = DISPATCH_CACHE_MAX) -> None:
        self.shared: LRUCache[int, dict[str, Any]] = LRUCache(maxsize=maxsize)
        self.traces: LRUCache[str, list[dict[str, Any]]] = LRUCache(maxsize=maxsize)
        self.lock = threading.Lock()
