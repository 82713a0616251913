"""Signing streams file → file: a 100 MB PDF must not be pulled into memory."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.pdfs import write_big_pdf

BENCH = Path(__file__).resolve().parents[3] / "bench" / "sign.py"


@pytest.mark.slow
def test_peak_memory_signing_a_100_mb_pdf_stays_under_1_5x_its_size(tmp_path: Path) -> None:
    big = write_big_pdf(tmp_path / "big.pdf", 100)
    size_mb = big.stat().st_size / 1024 / 1024
    # a fresh process, so the peak-RSS mark belongs to this signature alone
    run = subprocess.run([sys.executable, str(BENCH), "--memory-child", str(big)], capture_output=True, text=True,
                         timeout=240, check=True)
    grown_mb, signed_size = run.stdout.split()[-2:]
    assert int(signed_size) > big.stat().st_size
    assert float(grown_mb) <= 1.5 * size_mb, f"peak RSS grew {grown_mb} MB for a {size_mb:.0f} MB file"
