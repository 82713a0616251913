"""The webhooks' HTTP side: which addresses a callback may reach, and one signed POST.

A callback URL names a host the agency chose; the worker must not become a way into the
service's own network (SSRF). So the host is resolved when the POST is made (not only when
the URL was registered: DNS may change), every address it resolves to must be a public one
(``ipaddress``' ``is_global``: no private, loopback, link-local, shared or reserved range,
no multicast) unless ``allow_private`` is set, and the connection goes to the very address
that was checked (urllib3's pool on the IP, with the name kept for the Host header, SNI and
the certificate check), so a second, different DNS answer cannot slip in between. Redirects
are not followed: a 3xx is an answer like any non-2xx.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import urllib3

ANSWER_READ_MAX = 1024  # what is read of a receiver's answer (its status is what counts)
# RFC 3986's characters of a path and a query: kept as they are, every other one percent-encoded
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


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


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: the first it resolves to, once every one of
    them has been found allowed. :class:`AddressRefused` otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
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
    parts = urlsplit(wire_url(url))
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    try:
        address = resolve(host, port, allow_private=allow_private)
    except AddressRefused as exc:
        return Answer(None, str(exc))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host and not host_header.startswith("["):
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    request_headers = {**headers, "Host": host_header, "Content-Type": "application/json",
                       "User-Agent": "lienthong-webhooks/1"}
    pool: urllib3.HTTPConnectionPool
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if secure:
        pool = urllib3.HTTPSConnectionPool(address, port, timeout=limits, retries=False, maxsize=1,
                                           server_hostname=host, assert_hostname=host)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=limits, retries=False, maxsize=1)
    try:
        response = pool.urlopen("POST", path, body=body, headers=request_headers, redirect=False,
                                preload_content=False, assert_same_host=False)
        try:
            response.read(ANSWER_READ_MAX)
        finally:
            response.release_conn()
        return Answer(response.status)
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        pool.close()
