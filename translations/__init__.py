"""Messages in catalogues: ``vi`` (the default) and ``en``, one ``messages.po`` per language
under ``translations/<lang>/LC_MESSAGES/`` (the folder Flask-Babel reads, too).

A message id is the English text. Code that refuses or reports something builds a
:class:`Message` with :func:`_l` (the marker ``pybabel extract`` looks for, see ``babel.cfg``)
and leaves the choice of language to whoever shows it: the HTTP layer renders it in the
request's language, the CLI in ``LIENTHONG_LANGUAGE``, the verification report in ``lang``.
Values go in as named parameters, never into the id: ``_l("no revision %(seq)s", seq=3)``.

No Flask here: ``signing``, ``certs`` and the services use it as freely as the web does.
"""
from __future__ import annotations

import functools
import io
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
DOMAIN = "messages"
CATALOGUE_DIR = Path(__file__).resolve().parent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A message id and its named values, rendered once the reader's language is known.

    ``str()`` gives the Vietnamese text, so logs and exception texts stay readable."""

    msgid: str
    params: tuple[tuple[str, Any], ...] = ()

    def render(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return translate(self, lang)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)


def _l(msgid: str, **params: Any) -> Message:
    """Mark ``msgid`` (English, with ``%(name)s`` placeholders) for the catalogues."""
    return Message(msgid, tuple(params.items()))


def language(value: str | None) -> str:
    """One of :data:`LANGUAGES` for a tag such as ``en``, ``en-US`` or ``vi_VN``; else the default."""
    primary = (value or "").replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def translate(value: object, lang: str) -> str:
    """``value`` in ``lang``: a :class:`Message` from the catalogue (its parameters too, when
    they are messages); a plain ``str`` unchanged; anything else as ``str()`` gives it."""
    if not isinstance(value, Message):
        return value if isinstance(value, str) else str(value)
    lang = language(lang)
    text = catalogue(lang).gettext(value.msgid)
    if not value.params:
        return text
    params = {name: translate(v, lang) if isinstance(v, Message) else v for name, v in value.params}
    try:
        return text % params
    except (KeyError, ValueError, TypeError):
        # A translation with a broken placeholder must not turn a refusal into a 500: say it
        # in English rather than not at all (tests/unit/test_translations.py catches these).
        log.error("translation of %r into %s has bad placeholders", value.msgid, lang)
        return value.msgid % params


def po_path(lang: str, folder: Path = CATALOGUE_DIR) -> Path:
    return folder / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(lang: str) -> Translations:
    """The compiled catalogue of ``lang``, loaded once per process."""
    po = po_path(lang)
    try:
        mo = compile_catalogue(po) or po.with_suffix(".mo")
    except OSError:
        if not po.exists():
            raise
        # an installation whose folder we may not write to, with a stale .mo: compile in memory
        log.warning("cannot write the compiled catalogue next to %s; compiling it in memory", po)
        return Translations(io.BytesIO(_mo_bytes(po)), domain=DOMAIN)
    with mo.open("rb") as fp:
        return Translations(fp, domain=DOMAIN)


def compile_catalogue(po: Path) -> Path | None:
    """Write ``po``'s ``.mo`` when it is missing or older than ``po``; its path, or None when it
    was up to date. Written to a temporary file and renamed into place, so that two processes
    starting at once never read (or leave) half a file."""
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime_ns >= po.stat().st_mtime_ns):
        return None
    edited = po.stat().st_mtime_ns  # before reading: an edit made while we compile is seen next time
    tmp = mo.with_name(f".{mo.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        tmp.write_bytes(_mo_bytes(po))
        # stamped with the .po's time, not the clock's: a .po dated ahead (a skewed clock, an
        # unpacked archive) is then compiled once, not at every start
        os.utime(tmp, ns=(edited, edited))
        os.replace(tmp, mo)
    finally:
        tmp.unlink(missing_ok=True)
    return mo


def _mo_bytes(po: Path) -> bytes:
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=po.parent.parent.name, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog)  # fuzzy entries left out: a guess is not a translation
    return out.getvalue()
