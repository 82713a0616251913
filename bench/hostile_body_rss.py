"""What a huge unauthenticated JSON body costs a worker: one gunicorn gevent worker (as
docs/deployment.md runs it), its RSS before and after a 120 MB JSON body to the login and to
a dispatch endpoint. Before the body limit (issue 12) this cost +686 MB; now the 413 comes
from the Content-Length and the body is never parsed.

    .venv/bin/python bench/hostile_body_rss.py [--mb 120]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.gunicorn_support import gunicorn  # noqa: E402

PATHS = ("/api/v1/session", "/api/v1/documents/1/dispatches")


def rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=120)
    args = parser.parse_args()
    body = b'{"username": "' + b"a" * (args.mb * 1024 * 1024) + b'", "password": "x"}'
    with tempfile.TemporaryDirectory() as data, gunicorn("app:create_app()", {"LIENTHONG_DATA_DIR": data},
                                                         workers=1) as base:
        port = base.rsplit(":", 1)[1]
        # the master and its one worker share the command line; the worker was forked last
        worker = max(int(p) for p in subprocess.check_output(["pgrep", "-f", "--", f"127.0.0.1:{port}"]).split())
        for path in PATHS:
            before = rss_mb(worker)
            started = time.monotonic()
            answer = requests.post(base + path, data=body, headers={"Content-Type": "application/json"}, timeout=120)
            print(f"{path}: {answer.status_code} {answer.json()['error']['code']} in "
                  f"{time.monotonic() - started:.1f} s; worker RSS {before} -> {rss_mb(worker)} MB")


if __name__ == "__main__":
    main()
