"""The catalogues: every message the code can show has its Vietnamese and its English text,
and a Message renders in the language asked for."""
from __future__ import annotations

import multiprocessing
import os
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.support import Translations

from translations import (CATALOGUE_DIR, DEFAULT_LANGUAGE, LANGUAGES, Message, _l, compile_catalogue, language,
                          po_path, translate)

ROOT = CATALOGUE_DIR.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def _code_msgids() -> dict[str, str]:
    """msgid → where it was found, extracted as `make translations` does (translations/babel.cfg)."""
    with (CATALOGUE_DIR / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, lineno, msgid, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        assert isinstance(msgid, str), f"{filename}:{lineno}: a message id must be one literal string"
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def code_msgids() -> dict[str, str]:
    return _code_msgids()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_of_the_code_is_translated(code_msgids, lang):
    with po_path(lang).open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    entries = {m.id: m for m in catalog if m.id}
    missing = {msgid: where for msgid, where in code_msgids.items() if msgid not in entries}
    assert not missing, f"not in {lang}/messages.po (run `make translations`): {missing}"
    untranslated = [msgid for msgid in code_msgids if not entries[msgid].string or entries[msgid].fuzzy]
    assert not untranslated, f"no {lang} translation (empty or fuzzy): {untranslated}"
    stale = sorted(set(entries) - set(code_msgids))
    assert not stale, f"{lang}/messages.po has msgids no code uses (run `make translations`): {stale}"
    for msgid, entry in entries.items():
        assert sorted(PLACEHOLDER.findall(entry.string)) == sorted(PLACEHOLDER.findall(msgid)), \
            f"{lang}: the translation of {msgid!r} names other values: {entry.string!r}"


def test_the_marker_finds_messages_and_no_message_is_an_f_string(code_msgids):
    assert code_msgids["invalid input"].startswith("exchange/http/errors.py:")
    assert not [m for m in code_msgids if "{" in m], "values go in as %(name)s parameters"


def test_a_message_renders_in_the_language_asked_for():
    message = _l("the upload is larger than %(limit)s MB", limit=5)
    assert str(message) == "Tệp lớn quá 5 MB"  # logs and exception texts: Vietnamese
    assert translate(message, "vi") == message.render() == "Tệp lớn quá 5 MB"
    assert translate(message, "en") == "the upload is larger than 5 MB"
    assert translate("a plain text", "en") == "a plain text"
    assert translate(None, "en") == "None"


def test_message_parameters_may_be_messages_in_the_same_language():
    nested = _l("the agency cannot seal yet: %(detail)s", detail=_l("the document has no intact person signature"))
    assert translate(nested, "vi") == ("Chưa thể ký số của cơ quan: văn bản chưa có chữ ký hợp lệ của người có "
                                       "thẩm quyền")
    assert translate(nested, "en") == "the agency cannot seal yet: the document has no intact person signature"


def test_language_tags_fall_back_to_vietnamese():
    assert DEFAULT_LANGUAGE == "vi"
    assert [language(tag) for tag in ("en", "en-US", "EN_gb", "vi-VN", "fr", "", None)] == \
        ["en", "en", "en", "vi", "vi", "vi", "vi"]
    assert translate(_l("invalid input"), "fr") == "Dữ liệu không hợp lệ"


def test_messages_are_values():
    assert _l("no user %(username)s", username="a") == Message("no user %(username)s", (("username", "a"),))
    with pytest.raises(AttributeError):
        _l("no such document").msgid = "x"  # type: ignore[misc]


def _compile(po: str) -> None:
    compile_catalogue(Path(po))


def test_catalogues_compile_when_the_po_is_newer_and_atomically(tmp_path):
    po = tmp_path / "vi" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(po_path("vi"), po)
    mo = po.with_suffix(".mo")
    # several processes starting at once each compile; none sees or leaves half a file
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_compile, args=(str(po),)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert sorted(p.name for p in po.parent.iterdir()) == ["messages.mo", "messages.po"]
    assert compile_catalogue(po) is None  # up to date: left alone
    with mo.open("rb") as fp:
        assert Translations(fp).gettext("invalid input") == "Dữ liệu không hợp lệ"
    later = mo.stat().st_mtime_ns + 10**9
    os.utime(po, ns=(later, later))  # the catalogue was edited since
    assert compile_catalogue(po) == mo
    assert compile_catalogue(po) is None
