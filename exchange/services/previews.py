"""Page previews of a document's revision for the web page: drawn once by the server
(``exchange.adapters.pdf_previews``) and kept under ``<data_dir>/previews/<sha256>/``. The
folder is named by the file's hash, so two agencies holding the same file share its images;
who may see them is checked on every request, as for the PDF itself. Looking at a preview is
no download: a recipient's copy is not marked fetched by it."""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from errors import NotFound, ServiceUnavailable
from exchange.adapters import pdf_previews
from exchange.domain.caller import Caller
from exchange.domain.numbers import whole_number
from exchange.services import documents
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

log = logging.getLogger(__name__)

DPI = 60  # an A4 page ≈ 500×700 px: readable on a screen, small to send
MAX_PAGES = 30  # shown on the page; the PDF has them all


@dataclass(frozen=True)
class Previews:
    sha256: str
    seq: int
    pages: int  # how many the file has


def _folder(svc: "Services", sha256: str) -> Path:
    return svc.settings.data_dir / "previews" / sha256[:2] / sha256


def _source(svc: "Services", content: documents.Content, folder: Path) -> Path:
    """The revision's file beside its images (read through the hash-checking store once)."""
    pdf = folder / "source.pdf"
    if not pdf.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".source.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            with tmp.open("wb") as out:
                for chunk in content.chunks():
                    out.write(chunk)
            os.replace(tmp, pdf)
        finally:
            tmp.unlink(missing_ok=True)
    return pdf


def previews(svc: "Services", caller: Caller, document_id: int, seq: int) -> Previews:
    """A revision the caller may read and its page count."""
    content = documents.content(svc, caller, document_id, seq)
    folder = _folder(svc, content.sha256)
    counted = folder / "pages"
    known = whole_number(counted.read_text().strip()) if counted.exists() else None
    if known is not None:
        return Previews(content.sha256, seq, known)
    try:
        pages = pdf_previews.count_pages(_source(svc, content, folder))
        _write_whole(counted, str(pages))
    except pdf_previews.PreviewFailed:
        return Previews(content.sha256, seq, 0)  # shown without pictures; tried again next time
    except OSError as exc:  # the previews' disk full or unwritable: the page is still served
        log.error("previews of %s not kept: %s", content.sha256, exc)
        return Previews(content.sha256, seq, 0)
    return Previews(content.sha256, seq, pages)


def _write_whole(path: Path, text: str) -> None:
    """Written beside, then renamed: a concurrent first view reads the whole text or none."""
    partial = path.with_name(f".{path.name}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def page_image(svc: "Services", caller: Caller, document_id: int, seq: int, page: int) -> Path:
    """The PNG of one page of a revision the caller may read."""
    content = documents.content(svc, caller, document_id, seq)
    folder = _folder(svc, content.sha256)
    png = folder / f"{page}.png"
    if png.exists():
        return png
    if not 1 <= page <= min(previews(svc, caller, document_id, seq).pages, MAX_PAGES):
        raise NotFound(_l("no such page"))
    try:
        return pdf_previews.render_page(_source(svc, content, folder), page, png, DPI)
    except (pdf_previews.PreviewFailed, OSError):  # not drawn, or no room to keep it
        raise ServiceUnavailable(_l("the page could not be drawn")) from None
