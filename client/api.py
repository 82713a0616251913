"""The HTTP side: one ``httpx`` client with the agency's token, retried by ``tenacity`` with
exponential back-off and jitter on network errors, 429 and 5xx (``Retry-After`` honoured),
and resumable, hash-checked downloads (``Range`` + ``If-Range`` on the file's ETag)."""
from __future__ import annotations

import email.utils
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx
import tenacity

from client import __version__

log = logging.getLogger("lienthong_client")

RETRY_AFTER_MAX = 300.0  # a server asking for longer is waited for this long, then asked again
CHUNK = 256 * 1024


# transport errors of our own making (a malformed header or URL): asking again cannot help
_NOT_TRANSIENT = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)


class Stopped(Exception):
    """SIGTERM (or Ctrl-C) arrived while the client was waiting."""


class ApiError(Exception):
    """A refusal the server meant (4xx): retrying would not change it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def of(cls, response: httpx.Response) -> "ApiError":
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        return cls(response.status_code, str(error.get("code", "")), str(error.get("message", response.reason_phrase)))


class Retryable(Exception):
    """429 or 5xx: worth asking again, after ``retry_after`` seconds when the server said so."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} {response.reason_phrase}")
        self.status = response.status_code
        self.retry_after = retry_after(response.headers.get("Retry-After"))


class HashMismatch(Exception):
    """A downloaded file is not the one the server announced."""


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit(), not to float()
        return min(float(value), RETRY_AFTER_MAX)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), RETRY_AFTER_MAX))


class Backoff(tenacity.wait.wait_base):
    """Exponential back-off with jitter, unless the server named its own delay."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.jittered = tenacity.wait_exponential_jitter(initial=initial, max=maximum)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, Retryable) and error.retry_after is not None:
            return error.retry_after
        return float(self.jittered(retry_state))


@dataclass
class RetryPolicy:
    attempts: int = 8
    initial: float = 0.5
    maximum: float = 30.0


def _describe(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("retrying after %s (attempt %d, waiting %.1f s)", error, state.attempt_number,
                state.next_action.sleep if state.next_action else 0)


class Api:
    """The lienthong HTTP API as the agency's system sees it."""

    def __init__(self, server: str, token: str, *, timeout: float = 30, policy: RetryPolicy | None = None,
                 stop: threading.Event | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.stop = stop or threading.Event()
        self.http = httpx.Client(base_url=server.rstrip("/"), timeout=timeout, transport=transport,
                                 headers={**({"Authorization": f"Bearer {token}"} if token else {}),
                                          "User-Agent": f"lienthong-client/{__version__}",
                                          "Accept-Language": "vi"})

    def close(self) -> None:
        self.http.close()

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped()

    def retrying(self, also: tuple[type[Exception], ...] = ()) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, (httpx.TransportError, Retryable, *also))
                                              and not isinstance(e, _NOT_TRANSIENT)),
            wait=Backoff(self.policy.initial, self.policy.maximum),
            stop=tenacity.stop_after_attempt(self.policy.attempts), sleep=self._sleep,
            before_sleep=_describe, reraise=True)

    def _call(self, attempt: Callable[[], Any], also: tuple[type[Exception], ...] = ()) -> Any:
        for tried in self.retrying(also):
            with tried:
                return attempt()
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def request(self, method: str, path: str, *, wait: float = 0, **kwargs: Any) -> httpx.Response:
        """One API call, retried; 4xx raise :class:`ApiError`. ``wait``: a long-poll's seconds."""
        def once() -> httpx.Response:
            response = self.http.request(method, path, timeout=self.timeout + wait, **kwargs)
            return checked(response)
        return self._call(once)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    # ---- the calls -------------------------------------------------------------------
    def inbox(self, after: str, limit: int = 50, wait: float = 0) -> dict[str, Any]:
        return self.json("GET", "/api/v1/inbox", params={"after": after, "limit": limit, "wait": wait}, wait=wait)

    def events(self, after: str, limit: int = 100, wait: float = 0) -> dict[str, Any]:
        return self.json("GET", "/api/v1/events", params={"after": after, "limit": limit, "wait": wait}, wait=wait)

    def ack(self, delivery_id: int) -> dict[str, Any]:
        return self.json("POST", f"/api/v1/inbox/{delivery_id}/ack")

    def status(self, delivery_id: int, status: str, reason: str | None = None) -> dict[str, Any]:
        body = {"status": status, **({"reason": reason} if reason else {})}
        return self.json("POST", f"/api/v1/inbox/{delivery_id}/status", json=body)

    def recall_decision(self, delivery_id: int, accept: bool, reason: str = "") -> dict[str, Any]:
        return self.json("POST", f"/api/v1/inbox/{delivery_id}/recall-decision",
                         json={"accept": accept, "reason": reason})

    def receipt_key(self) -> dict[str, Any]:
        return self.json("GET", "/api/v1/receipts/key")

    def upload(self, path: Path, metadata: str, idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}

        def once() -> Any:
            with path.open("rb") as f:
                return checked(self.http.post("/api/v1/documents", data={"metadata": metadata}, headers=headers,
                                              files={"file": (path.name, f, "application/pdf")})).json()
        return self._call(once)

    def dispatch(self, document_id: int, to: list[str], idempotency_key: str) -> dict[str, Any]:
        return self.json("POST", f"/api/v1/documents/{document_id}/dispatches",
                         json={"to": to}, headers={"Idempotency-Key": idempotency_key})

    def download(self, url: str, part: Path, sha256: str,
                 progress: Callable[[int, int], None] | None = None) -> None:
        """``url`` into ``part``, resuming what ``part`` already holds (``Range``, ``If-Range``
        on the ETag, which is the file's SHA-256); the whole file must hash to ``sha256``,
        else :class:`HashMismatch` (the partial file is dropped, so the next try starts over)."""
        # a file that does not hash right is dropped and fetched whole once more
        self._call(lambda: self._download_once(url, part, sha256, progress), also=(HashMismatch,))

    def _download_once(self, url: str, part: Path, sha256: str,
                       progress: Callable[[int, int], None] | None) -> None:
        digest = hashlib.sha256()
        have = part.stat().st_size if part.exists() else 0
        if have:
            with part.open("rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    digest.update(chunk)
        headers = {"Range": f"bytes={have}-", "If-Range": f'"{sha256}"'} if have else {}
        if have:
            log.info("resuming %s at byte %d", url, have, extra={"url": url, "offset": have})
        with self.http.stream("GET", url, headers=headers) as response:
            if response.status_code == 416:  # the part already holds the whole file (or more)
                response.read()
            else:
                checked(response, streamed=True)
            if response.status_code == 200 and have:  # the server sent the whole file again
                have, digest = 0, hashlib.sha256()
            if response.status_code != 416:
                total = have + int(response.headers.get("Content-Length", 0))
                with part.open("r+b" if have else "wb") as out:
                    out.seek(have)
                    out.truncate()
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        have += len(chunk)
                        if progress:
                            progress(have, total)
                if have < total:  # the body broke off: resume on the next attempt
                    raise httpx.RemoteProtocolError(f"body ended after {have} of {total} bytes")
        if digest.hexdigest() != sha256:
            part.unlink(missing_ok=True)
            raise HashMismatch(f"{url}: SHA-256 {digest.hexdigest()} is not the announced {sha256}")


def checked(response: httpx.Response, streamed: bool = False) -> httpx.Response:
    """``response`` when it is a success; :class:`Retryable` for 429/5xx, :class:`ApiError` for 4xx."""
    if response.status_code < 400:
        return response
    if streamed:
        response.read()
    if response.status_code == 429 or response.status_code >= 500:
        raise Retryable(response)
    raise ApiError.of(response)

