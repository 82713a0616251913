"""exchange.adapters.webhook_http against real servers on 127.0.0.1: HTTPS pinned to the checked
address keeps the name for SNI and the certificate check; private addresses refused before any
connection; redirects not followed; no answer (a closed port) is an answer without a status."""
from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exchange.adapters import webhook_http
from tests.e2e.gunicorn_support import ROOT, free_port


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Handler.seen.append((self.path, self.headers["Host"], body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/")
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, Path]]:
    _Handler.seen = []
    cert, key = _certificate(tmp_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, cert
    httpd.shutdown()
    httpd.server_close()


_POST = """
import sys
from exchange.adapters import webhook_http
answer = webhook_http.post(sys.argv[1], b'{"id": 1}', {"Lienthong-Event-Id": "1"}, timeout=5, allow_private=True)
print(answer.status, answer.error)
"""


def _post_trusting(cert: Path | None, url: str) -> str:
    """In a process whose default trust store is ``cert`` alone (SSL_CERT_FILE), as a real
    deployment's would hold its CAs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if cert is not None:
        env["SSL_CERT_FILE"] = str(cert)
    proc = subprocess.run([sys.executable, "-c", _POST, url], env=env, capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_https_is_pinned_to_the_checked_address_with_the_name_kept_for_the_certificate(server):
    httpd, cert = server
    port = httpd.server_port
    assert _post_trusting(cert, f"https://localhost:{port}/hook?x=1") == "204"
    [(path, host, body)] = _Handler.seen
    assert (path, host, body) == ("/hook?x=1", f"localhost:{port}", b'{"id": 1}')
    # the same address by IP: the certificate names localhost only, so the check refuses it
    assert "doesn't match 'localhost'" in _post_trusting(cert, f"https://127.0.0.1:{port}/hook")
    # and a server whose certificate nobody trusts is refused
    assert "CERTIFICATE_VERIFY_FAILED" in _post_trusting(None, f"https://localhost:{port}/hook")
    assert len(_Handler.seen) == 1


def test_private_addresses_are_refused_before_connecting_and_redirects_are_not_followed(server):
    httpd, cert = server
    refused = webhook_http.post(f"https://localhost:{httpd.server_port}/hook", b"{}", {}, timeout=5,
                                allow_private=False)
    assert refused.status is None and "private or reserved" in refused.error and _Handler.seen == []
    assert _post_trusting(cert, f"https://localhost:{httpd.server_port}/redirect") == "302"
    assert [p for p, _, _ in _Handler.seen] == ["/redirect"]
    closed = webhook_http.post(f"http://127.0.0.1:{free_port()}/", b"{}", {}, timeout=2, allow_private=True)
    assert closed.status is None and not closed.ok and closed.error


@pytest.mark.parametrize("address, public", [("93.184.215.14", True), ("2606:2800:21f:cb07::1", True),
                                             ("127.0.0.1", False), ("10.0.0.1", False), ("169.254.169.254", False),
                                             ("100.64.0.1", False), ("::1", False), ("fe80::1%eth0", False),
                                             ("::ffff:10.0.0.1", False), ("224.0.0.1", False), ("0.0.0.0", False)])
def test_which_addresses_are_public(address, public):
    assert webhook_http.is_public(address) is public
    assert isinstance(ipaddress.ip_address(address.split("%")[0]), (ipaddress.IPv4Address, ipaddress.IPv6Address))


class _Dripping(BaseHTTPRequestHandler):
    """Reads the request, then sends its answer's head one byte every 0.2 s: each read
    comes well within any socket timeout, the whole answer takes about 8 s."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        try:
            for byte in b"HTTP/1.1 204 No Content\r\nX-Slow: " + b"a" * 15 + b"\r\n\r\n":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the sender hung up: what it should do

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_receiver_answering_byte_by_byte_cannot_hold_a_post_past_its_timeout():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Dripping)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        answer = webhook_http.post(f"http://127.0.0.1:{httpd.server_port}/hook", b"{}", {}, timeout=1,
                                   allow_private=True)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert answer.status is None and "no answer within 1 s" in answer.error


def test_a_host_name_that_does_not_resolve_in_time_is_an_answer_without_a_status(monkeypatch):
    release = threading.Event()

    def hanging(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(30)  # a resolver that does not answer
        raise OSError("too late")

    monkeypatch.setattr(webhook_http.socket, "getaddrinfo", hanging)
    try:
        answer = webhook_http.post("https://hook.example.vn/", b"{}", {}, timeout=0.5, allow_private=True)
    finally:
        release.set()
    assert answer.status is None and "cannot resolve hook.example.vn" in answer.error
    assert "no answer within 0.5 s" in answer.error
