"""Page images of a PDF, drawn by poppler's ``pdftoppm`` (the renderer the tests already use
as an independent reader), in a process of its own under a time limit: a hostile PDF may make
it slow or kill it, never the app."""
from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

PDFTOPPM = "pdftoppm"
PDFINFO = "pdfinfo"
RENDER_TIMEOUT_S = 20.0


class PreviewFailed(Exception):
    """poppler read or drew nothing (a broken file or page, a timeout)."""


def count_pages(pdf: Path) -> int:
    """The number of pages, as poppler's ``pdfinfo`` reads it (in its own process, like the
    drawing: a file no library can open is a PreviewFailed, never an error of the app)."""
    try:
        done = subprocess.run([PDFINFO, str(pdf)], check=True, timeout=RENDER_TIMEOUT_S, capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        raise PreviewFailed(str(exc)) from None
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name == "Pages" and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())
    raise PreviewFailed("pdfinfo gave no page count")


def render_page(pdf: Path, page: int, png: Path, dpi: int, timeout: float = RENDER_TIMEOUT_S) -> Path:
    """``png``: page ``page`` (1-based) of ``pdf`` at ``dpi``, written whole or not at all."""
    if timeout <= 0:
        raise PreviewFailed("no time left to draw")
    stem = png.with_name(f".{png.stem}-{os.getpid()}-{secrets.token_hex(4)}")
    drawn = stem.with_name(f"{stem.name}.png")  # pdftoppm adds the extension
    try:
        subprocess.run([PDFTOPPM, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf), str(stem)], check=True, timeout=timeout, capture_output=True)
        os.replace(drawn, png)
    except (subprocess.SubprocessError, OSError) as exc:
        raise PreviewFailed(str(exc)) from None
    finally:
        drawn.unlink(missing_ok=True)
    return png
