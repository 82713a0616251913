"""Switching the pages to English leaves no Vietnamese-only text (data aside: the names
agencies and documents carry, the document types offered as suggestions)."""
from __future__ import annotations

import re

import pytest

from tests.db import session_scope
from tests.exchange_fixtures import build_world
from tests.integration.exchange.http.web.test_foundation import BROWSER, csrf_of, log_in

PAGES = ("/", "/outgoing", "/outgoing/new", "/incoming", "/registers/incoming", "/registers/outgoing", "/verify")
VIETNAMESE = re.compile("[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def visible_text(html: str) -> str:
    html = re.sub(r"<(datalist|script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<button[^>]*lang="vi"[^>]*>.*?</button>', " ", html, flags=re.S)  # "Tiếng Việt", by design
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("lang, expect_vietnamese", [("en", False), ("vi", True)])
def test_every_page_speaks_the_chosen_language(client, world, lang, expect_vietnamese):
    log_in(client, world, "clerk")
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    client.post("/language", data={"lang": lang, "next": "/", "csrf_token": csrf_of(page)})
    for path in PAGES:
        html = client.get(path, headers=BROWSER).get_data(as_text=True)
        found = VIETNAMESE.findall(visible_text(html))
        assert bool(found) == expect_vietnamese, (path, found[:10])
