"""CPU per inbox request under gunicorn, a figure the machine's load moves far less than req/s:
the CPU time of the app's workers (and, on PostgreSQL, of the server backends serving them)
over a ``wrk`` run, divided by the requests answered; and, on PostgreSQL, how many
connections the database accepted meanwhile (``pg_stat_database.sessions``: a pool that
closes what it opened shows here; other clients of the same server count too).

    .venv/bin/python bench/inbox_cpu.py [--seconds 4] [--rounds 2] [--connections 32] [--database-url URL]

Same world, server and endpoints as bench/inbox.py (``/healthz``, an empty poll, a 50-item
page), PostgreSQL only when ``--database-url`` or ``$LIENTHONG_TEST_DATABASE_URL`` is set.
CPU is read from ``/proc/<pid>/schedstat`` (nanoseconds on the CPU); a backend that exits
during a run takes its time with it, so a churning pool looks cheaper there than it is.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from inbox import poll_bench_args, seed  # noqa: E402

from tests.e2e.gunicorn_support import WORKER_CLASS, WORKERS, gunicorn  # noqa: E402


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            found[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def workers_of(port: str) -> list[int]:
    """The gunicorn processes serving ``port`` (the master's CPU is nil and counts too)."""
    mark = f"127.0.0.1:{port}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if mark in cmdline and b"gunicorn" in cmdline:
                pids.append(int(entry.name))
    return pids


class Server:
    """What the database server says about the app's connections (by application_name)."""

    def __init__(self, admin_url: str, app_name: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        plain = make_url(admin_url).set(drivername="postgresql", query={})
        self.conn = psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True)
        self.app_name, self.database = app_name, plain.database

    def backends(self) -> list[int]:
        return [pid for (pid,) in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (self.app_name,))]

    def sessions(self) -> int:
        row = self.conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (self.database,)).fetchone()
        return int(row[0]) if row else 0


def measure(url: str, tmp: Path, args: argparse.Namespace, server: Server | None) -> None:
    tokens = seed(url, tmp)
    env = {"LIENTHONG_DATA_DIR": str(tmp), "LIENTHONG_DATABASE_URL": url}
    kind = "PostgreSQL" if server else "SQLite"
    with gunicorn("app:create_app()", env) as base:
        port = base.rsplit(":", 1)[1]
        endpoints = (("/healthz", f"{base}/healthz", None),
                     ("empty poll", f"{base}/api/v1/inbox?after={tokens['cursor']}", tokens["empty"]),
                     ("50 items", f"{base}/api/v1/inbox?limit=50", tokens["full"]))
        for round_no in range(args.rounds):
            for name, endpoint, token in endpoints:
                workers = workers_of(port)
                backends = server.backends() if server else []
                sessions = server.sessions() if server else 0
                app0, db0 = cpu_seconds(workers), cpu_seconds(backends)
                cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s"]
                cmd += ["-H", f"Authorization: Bearer {token}"] if token else []
                out = subprocess.run(cmd + [endpoint], capture_output=True, text=True, check=True).stdout
                rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
                app1 = cpu_seconds(workers)
                db1 = cpu_seconds(server.backends()) if server else {}
                opened = server.sessions() - sessions if server else 0
                requests = rps * args.seconds
                app = sum(app1.values()) - sum(app0.values())
                db = sum(v - db0.get(pid, 0.0) for pid, v in db1.items())
                load = os.getloadavg()[0]
                print(f"{kind:10} round {round_no + 1} {name:11} {rps:7.0f} req/s  app {1e3 * app / requests:.3f} ms"
                      f" + db {1e3 * db / requests:.3f} ms = {1e3 * (app + db) / requests:.3f} ms CPU/request"
                      + (f"  connections opened {opened}" if server else "") + f"  (load {load:.1f})", flush=True)


def main() -> None:
    args = poll_bench_args(__doc__.splitlines()[0])
    pg_url = args.database_url or os.environ.get("LIENTHONG_TEST_DATABASE_URL", "")
    from dispatch import database  # the same private PostgreSQL schema as bench/inbox.py

    print(f"gunicorn -k {WORKER_CLASS} -w {WORKERS}; wrk -t1 -c{args.connections} -d{args.seconds}s")
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/lienthong.db", Path(tmp), args, None)
    if pg_url:
        app_name = f"bench_inbox_cpu_{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory() as tmp, database(pg_url) as url:
            server = Server(pg_url, app_name)
            try:
                measure(f"{url}&application_name={app_name}", Path(tmp), args, server)
            finally:
                server.conn.close()


if __name__ == "__main__":
    main()
