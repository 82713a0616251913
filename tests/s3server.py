"""A real S3 server for tests and benchmarks: moto's server mode on 127.0.0.1, free port.

Real HTTP, real SigV4 signing, real multipart uploads: the MinIO store is exercised the way
it talks to MinIO in production, without needing a MinIO binary on the machine.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from contextlib import contextmanager

# moto accepts any credentials; these are not secrets.
MOTO_ACCESS_KEY = "moto-access"
MOTO_SECRET_KEY = "moto-secret"


@dataclass(frozen=True)
class S3Endpoint:
    endpoint: str          # host:port, no scheme (the form LIENTHONG_S3_ENDPOINT takes)
    access_key: str
    secret_key: str
    secure: bool = False
    is_moto: bool = True


def real_s3_from_env() -> S3Endpoint | None:
    """The real MinIO named by ``LIENTHONG_TEST_S3_ENDPOINT`` (+ keys), or None."""
    endpoint = os.environ.get("LIENTHONG_TEST_S3_ENDPOINT", "").strip()
    if not endpoint:
        return None
    access = os.environ.get("LIENTHONG_TEST_S3_ACCESS_KEY", "")
    secret = os.environ.get("LIENTHONG_TEST_S3_SECRET_KEY", "")
    if not access or not secret:
        raise RuntimeError("LIENTHONG_TEST_S3_ENDPOINT is set but LIENTHONG_TEST_S3_ACCESS_KEY "
                           "or LIENTHONG_TEST_S3_SECRET_KEY is missing")
    secure = os.environ.get("LIENTHONG_TEST_S3_SECURE", "").strip().lower() in ("1", "true", "yes")
    return S3Endpoint(endpoint, access, secret, secure=secure, is_moto=False)


@contextmanager
def moto_s3_server(port: int = 0) -> Iterator[S3Endpoint]:
    """Start moto's threaded server on 127.0.0.1 (``port``, or one chosen by the OS) and stop it after."""
    from moto.server import ThreadedMotoServer

    # werkzeug logs one line per request: thousands in a benchmark.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Endpoint(f"{host}:{port}", MOTO_ACCESS_KEY, MOTO_SECRET_KEY)
    finally:
        server.stop()


def main() -> None:
    """``python -m tests.s3server [PORT]``: serve until stdin closes; the first stdout line is
    ``host:port``. Lets a benchmark run the server in its own process (its own GIL), and a
    fault test kill or stop it with a signal."""
    import sys

    with moto_s3_server(int(sys.argv[1]) if len(sys.argv) > 1 else 0) as endpoint:
        print(endpoint.endpoint, flush=True)
        sys.stdin.read()


class S3Process:
    """moto's S3 server in a process of its own, for tests that kill it (``SIGKILL``: its
    objects are gone with it, as with a lost disk) or hang it (``SIGSTOP``: the kernel still
    accepts connections, nothing answers; ``SIGCONT`` resumes)."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or start again, on the same port, empty)."""
        self.process = subprocess.Popen([sys.executable, "-m", "tests.s3server", str(self.port)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        cwd=Path(__file__).resolve().parents[1])
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line:
            raise RuntimeError("the moto S3 server did not start")
        self.port = int(line.rsplit(":", 1)[1])

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(10)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)


@contextmanager
def moto_s3_process() -> Iterator[S3Process]:
    server = S3Process()
    try:
        yield server
    finally:
        server.close()


if __name__ == "__main__":
    main()
