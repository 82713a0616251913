"""Text as a clerk searches it: case and Vietnamese diacritics folded away, so that
"quyet dinh" finds "Quyết định" and "ubnd-vp" finds "UBND-VP".

The folding runs in Python (stdlib ``unicodedata``), once when a document is written, into a
stored column; a search folds its words the same way and compares with ``LIKE``. The same
SQL then works on SQLite and PostgreSQL, with no collation or extension (``unaccent``,
ICU) that one of them lacks.
"""
from __future__ import annotations

import unicodedata

# đ/Đ are letters of their own, not d with a combining mark: NFKD leaves them alone
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})
LIKE_ESCAPE = "\\"


def fold(text: str) -> str:
    """Lower case, no diacritics, single spaces: ``"  Quyết ĐỊNH "`` → ``"quyet dinh"``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def document_search_text(number: str, notation: str, subject: str) -> str:
    """What ``q`` is matched against: "12/UBND-VP" (số/ký hiệu as printed), each part, and
    the trích yếu."""
    reference = f"{number}/{notation}" if number and notation else ""
    return fold(" ".join(part for part in (reference, number, notation, subject) if part))


def search_words(query: str) -> list[str]:
    """The folded words of a query, each escaped for a ``LIKE '%…%'`` pattern."""
    return [word.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
            for word in fold(query).split()]
