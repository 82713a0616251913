"""Real faults on 127.0.0.1 for tests: a server that accepts and never answers, and a TCP
proxy in front of a real server (the moto S3 server) that can hang or cut its answers while
the test runs."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def hung_server() -> Iterator[str]:
    """``host:port`` of a server whose kernel completes every TCP handshake and whose
    process never reads or writes a byte."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


class FaultyProxy:
    """Forwards TCP to ``upstream``. ``hang``: forward nothing more (a hung server);
    ``cut_after``: forward that many more bytes of answers, then nothing (a server that dies
    mid-stream without closing)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.hang = False
        self._budget: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.2)
        self.endpoint = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, nbytes: int | None) -> None:
        with self._lock:
            self._budget = nbytes

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client = self._listener.accept()[0]
            except OSError:
                continue
            upstream = socket.create_connection(self.upstream)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _allowance(self, wanted: int) -> int:
        with self._lock:
            if self._budget is None:
                return wanted
            given = min(wanted, self._budget)
            self._budget -= given
            return given

    def _stalled(self) -> None:
        while not self._stop.is_set():
            time.sleep(0.05)

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        while not self._stop.is_set():
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            while self.hang and not self._stop.is_set():
                time.sleep(0.05)
            if answers:
                allowed = self._allowance(len(data))
                if allowed < len(data):
                    if allowed:
                        sink.sendall(data[:allowed])
                    self._stalled()
                    return
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        self._listener.close()


@contextmanager
def faulty_proxy(upstream: str) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served over real HTTP on 127.0.0.1 (werkzeug, threaded) for the block; the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
