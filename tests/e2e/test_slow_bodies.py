"""A client that sends its headers and then withholds (or trickles) its body is cut off at
LIENTHONG_BODY_READ_TIMEOUT with 408 under the production workers (gunicorn, gevent), and the
other clients are served meanwhile."""
from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.gunicorn_support import gunicorn

pytestmark = pytest.mark.e2e
TIMEOUT_S = 1.0


def _stalled_request(base: str, path: str, sent: bytes, announced: int) -> tuple[bytes, float]:
    """Headers and the first bytes of a body, then silence; what the server answers, and when."""
    url = urlsplit(base)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {announced}\r\n\r\n".encode() + sent)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def test_a_withheld_body_is_cut_at_the_deadline(tmp_path, database_url):
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var"), "LIENTHONG_DATABASE_URL": database_url,
           "LIENTHONG_BODY_READ_TIMEOUT": str(TIMEOUT_S)}
    with gunicorn("app:create_app()", env, workers=1) as base:
        answer, elapsed = _stalled_request(base, "/api/v1/session", b'{"username": "a', 2000)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert elapsed < TIMEOUT_S + 2, elapsed
        # the one worker was never held: a normal request is answered at once
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
