"""Page images of a PDF, drawn by poppler's ``pdftoppm`` (the renderer the tests already use
as an independent reader), in a process of its own under a time limit: a hostile PDF may make
it slow or kill it, never the app."""
from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

PDFTOPPM = "pdftoppm"
RENDER_TIMEOUT_S = 20.0


class PreviewFailed(Exception):
    """pdftoppm drew nothing (a broken page, a timeout)."""


def count_pages(pdf: Path) -> int:
    import pypdfium2 as pdfium  # loaded on first use: the CLI never draws a page

    document = pdfium.PdfDocument(str(pdf))
    try:
        return len(document)
    finally:
        document.close()


def render_page(pdf: Path, page: int, png: Path, dpi: int) -> Path:
    """``png``: page ``page`` (1-based) of ``pdf`` at ``dpi``, written whole or not at all."""
    stem = png.with_name(f".{png.stem}-{os.getpid()}-{secrets.token_hex(4)}")
    drawn = stem.with_name(f"{stem.name}.png")  # pdftoppm adds the extension
    try:
        subprocess.run([PDFTOPPM, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf), str(stem)], check=True, timeout=RENDER_TIMEOUT_S, capture_output=True)
        os.replace(drawn, png)
    except (subprocess.SubprocessError, OSError) as exc:
        raise PreviewFailed(str(exc)) from None
    finally:
        drawn.unlink(missing_ok=True)
    return png
