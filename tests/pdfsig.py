"""poppler's pdfsig as an independent verifier: an NSS database trusting a root, and
pdfsig's per-signature report parsed into dicts."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path


def make_nss_db(folder: Path, root_pem: Path, nickname: str = "lienthong-test-root") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{folder}", "-n", nickname, "-t", "CT,C,C", "-i", str(root_pem)],
                   check=True, capture_output=True)
    return folder


def pdfsig(nss_db: Path, data: bytes, folder: Path) -> list[dict[str, str]]:
    """pdfsig's per-signature blocks, as {"Signature Field Name": ..., "Signature Validation": ...}."""
    path = folder / "doc.pdf"
    path.write_bytes(data)
    run = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss_db}", str(path)], capture_output=True, text=True, timeout=60)
    blocks: list[dict[str, str]] = []
    for line in run.stdout.splitlines():
        if re.match(r"^Signature #\d+:", line):
            blocks.append({})
        elif blocks and (m := re.match(r"^\s+- ([^:]+): (.*)$", line)):
            blocks[-1][m.group(1)] = m.group(2)
    return blocks


def cades(blocks: list[dict[str, str]]) -> list[dict[str, str]]:
    # pdfsig 22.x cannot check ETSI.RFC3161 document timestamps ("not yet verified"): pyHanko does
    return [b for b in blocks if b.get("Signature Type") == "ETSI.CAdES.detached"]
