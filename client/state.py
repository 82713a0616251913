"""What the client remembers in its folder: the inbox and events cursors, written atomically
(a temporary file, fsync, ``os.replace``, fsync of the folder), so that a restart, even after
SIGKILL, resumes from the last item fully handled: nothing missed, nothing handled twice."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

STATE_FILE = ".lienthong-client.json"


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds either its old content or ``data``, whatever happens meanwhile."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def write_json(path: Path, value: Any) -> None:
    write_atomically(path, _json(value))


def write_json_quickly(path: Path, value: Any) -> None:
    """For a file in a folder that is fsynced and renamed into place afterwards."""
    path.write_bytes(_json(value))


class State:
    """``inbox`` and ``events``: the cursors after the last item fully handled."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_FILE
        self.data: dict[str, Any] = {"inbox": "", "events": ""}
        if self.path.exists():
            self.data.update(json.loads(self.path.read_text("utf-8")))

    def __getitem__(self, name: str) -> str:
        return str(self.data.get(name) or "")

    def advance(self, name: str, cursor: str) -> None:
        self.data[name] = cursor
        write_json(self.path, self.data)
