"""The webhooks' HTTP side: which addresses a callback may reach, and one signed POST.

A callback URL names a host the agency chose; the worker must not become a way into the
service's own network (SSRF). So the host is resolved when the POST is made (not only when
the URL was registered: DNS may change), every address it resolves to must be a public one
(``ipaddress``' ``is_global``: no private, loopback, link-local, shared or reserved range,
no multicast) unless ``allow_private`` is set, and the connection goes to the very address
that was checked (urllib3's pool on the IP, with the name kept for the Host header, SNI and
the certificate check), so a second, different DNS answer cannot slip in between. Redirects
are not followed: a 3xx is an answer like any non-2xx. A POST has one time limit for the
whole of it, the DNS look-up included (a receiver answering byte by byte cannot hold a
worker's thread), and whatever goes wrong in it is an :class:`Answer` without a status.
"""
from __future__ import annotations

import concurrent.futures
import http.client
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import urllib3
import urllib3.connection

ANSWER_READ_MAX = 1024  # what is read of a receiver's answer (its status is what counts)
# RFC 3986's characters of a path and a query: kept as they are, every other one percent-encoded
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
RESOLVE_TIMEOUT_S = 10.0  # a host name's look-up when no POST's deadline bounds it (check_url)
# getaddrinfo has no timeout of its own: it runs in these threads, and whoever waits for it
# waits at most its deadline. A resolver that hangs holds at most this many threads (until
# its own timeout, resolv.conf's: 5 s a try by default); the look-ups queued behind them
# time out at their own deadlines, so a stuck DNS makes failed POSTs, not stuck workers.
_resolver = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="lienthong-dns")


class AddressRefused(Exception):
    """The host cannot be reached under the rules above (reason in the message)."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def wire_url(url: str) -> str:
    """``url`` as it goes on the wire: an internationalised host name in its IDNA (punycode)
    form, the path's and query's other characters than RFC 3986's percent-encoded (UTF-8) —
    the Host header, SNI, DNS and the request line are ASCII. ``UnicodeError`` when the host
    is no domain name IDNA can write (an empty or too long label)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = parts.netloc
    if not host.isascii():
        netloc = host.encode("idna").decode("ascii") + ("" if parts.port is None else f":{parts.port}")
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=_PATH_SAFE), quote(parts.query, safe=_QUERY_SAFE),
                       parts.fragment))


def resolve(host: str, port: int, *, allow_private: bool, timeout: float = RESOLVE_TIMEOUT_S) -> str:
    """The address to connect to for ``host``: the first it resolves to, once every one of
    them has been found allowed. :class:`AddressRefused` otherwise, and when no answer came
    within ``timeout`` seconds."""
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=max(timeout, 0.0))
    except concurrent.futures.TimeoutError:
        lookup.cancel()  # still queued: never started; started: its thread ends with the resolver's own timeout
        raise AddressRefused(f"cannot resolve {host}: no answer within {timeout:g} s") from None
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise AddressRefused(f"{host} resolves to a private or reserved address ({refused[0]})")
    return addresses[0]


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer came (refused address, network error, timeout)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> Answer:
    """POST ``body`` to ``url`` once, pinned to the address checked by :func:`resolve`. Never
    raises: whatever goes wrong is an :class:`Answer` without a status, and its error."""
    try:
        return _post(url, body, headers, timeout=timeout, allow_private=allow_private)
    except Exception as exc:  # noqa: BLE001 - a POST that failed in a way nobody foresaw is one more failed POST
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])


def _post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> Answer:
    deadline = time.monotonic() + timeout
    late = Answer(None, f"no answer within {timeout:g} s")
    parts = urlsplit(wire_url(url))
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    try:
        address = resolve(host, port, allow_private=allow_private, timeout=timeout)
    except AddressRefused as exc:
        return Answer(None, str(exc))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host and not host_header.startswith("["):
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    request_headers = {**headers, "Host": host_header, "Content-Type": "application/json",
                       "User-Agent": "lienthong-webhooks/1"}
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return late
    conn: urllib3.connection.HTTPConnection
    if secure:
        conn = urllib3.connection.HTTPSConnection(address, port, timeout=remaining, server_hostname=host,
                                                  assert_hostname=host)
    else:
        conn = urllib3.connection.HTTPConnection(address, port, timeout=remaining)
    cutter = _Cutter(conn, deadline)
    try:
        conn.request("POST", path, body=body, headers=request_headers, preload_content=False)
        response = conn.getresponse()
        response.read(ANSWER_READ_MAX)
        return late if cutter.cut else Answer(response.status)
    except (urllib3.exceptions.HTTPError, OSError, http.client.HTTPException) as exc:
        return late if cutter.cut else Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        cutter.stop()
        conn.close()


class _Cutter:
    """The POST's whole time limit: a socket timeout bounds each read, not their sum (a receiver
    sending a byte every half second would hold a worker's thread as long as it likes). At the
    deadline this shuts the connection's socket down, which wakes the thread blocked on it with
    an error; until the POST is over it tries again (the socket may not exist yet, mid-connect:
    the connect's own timeout, the time left, ends it about then)."""

    def __init__(self, conn: urllib3.connection.HTTPConnection, deadline: float) -> None:
        self.conn = conn
        self.deadline = deadline
        self.cut = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lienthong-webhook-deadline", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        if self._done.wait(max(self.deadline - time.monotonic(), 0.0)):
            return
        self.cut = True
        while not self._done.is_set():
            sock = self.conn.sock
            if sock is not None:
                try:  # socket.socket's own shutdown: an SSLSocket's would drop its TLS state under the reader
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed
            self._done.wait(0.05)

    def stop(self) -> None:
        self._done.set()
