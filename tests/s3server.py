"""A real S3 server for tests and benchmarks: moto's server mode on 127.0.0.1, free port.

Real HTTP, real SigV4 signing, real multipart uploads: the MinIO store is exercised the way
it talks to MinIO in production, without needing a MinIO binary on the machine.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
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
def moto_s3_server() -> Iterator[S3Endpoint]:
    """Start moto's threaded server on 127.0.0.1 (port chosen by the OS) and stop it after."""
    from moto.server import ThreadedMotoServer

    # werkzeug logs one line per request: thousands in a benchmark.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Endpoint(f"{host}:{port}", MOTO_ACCESS_KEY, MOTO_SECRET_KEY)
    finally:
        server.stop()


def main() -> None:
    """``python -m tests.s3server``: serve until stdin closes; the first stdout line is
    ``host:port``. Lets a benchmark run the server in its own process (its own GIL)."""
    import sys

    with moto_s3_server() as endpoint:
        print(endpoint.endpoint, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
