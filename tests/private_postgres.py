"""A private PostgreSQL cluster for a test that must stop the database: initdb into a
temporary folder, its own port on 127.0.0.1, started and stopped by the test with pg_ctl
(never the shared server). PostgreSQL refuses to run as root: as root the cluster belongs to
the ``postgres`` user and every command runs through ``runuser``."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.e2e.gunicorn_support import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
OWNER = "postgres"


def unavailable_reason() -> str | None:
    """Why no private cluster can be made here, or None."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL 15 server binaries in {BIN} (make system-deps)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OWNER)
        except KeyError:
            return "running as root and there is no 'postgres' user to run the cluster"
    return None


class PrivateCluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.log = root / "postgres.log"

    def _run(self, *argv: str) -> None:
        cmd = [str(BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", OWNER, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        # fsync off: the data outlives a killed server in the OS's cache (only a machine crash
        # would lose it); synchronous_commit stays on, or an immediate stop loses commits
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: every server process quits at once, like a crash (recovery at the
        next start); ``fast``: open sessions are rolled back and closed."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new empty database in the cluster."""
        import sqlalchemy as sa

        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        return self.url(name)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A started private cluster, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="lt-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, OWNER, OWNER)
    cluster = PrivateCluster(root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            try:
                cluster.stop()
            except RuntimeError:
                pass
        shutil.rmtree(root, ignore_errors=True)
