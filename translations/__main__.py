"""``python -m translations``: after ``pybabel update`` (``make translations``), give the
English catalogue's new or fuzzy entries their msgid as msgstr: the msgids are the English
text. The Vietnamese catalogue is left to a translator; the tests name what it lacks."""
from __future__ import annotations

from babel.messages.pofile import read_po, write_po

from translations import DOMAIN, po_path


def fill_english() -> int:
    """The number of English entries filled in."""
    po = po_path("en")
    with po.open("rb") as fp:
        catalog = read_po(fp, locale="en", domain=DOMAIN)
    filled = 0
    for message in catalog:
        if message.id and (not message.string or message.fuzzy):
            message.string = message.id
            message.flags.discard("fuzzy")
            filled += 1
    with po.open("wb") as fp:
        write_po(fp, catalog, ignore_obsolete=True)
    return filled


if __name__ == "__main__":
    print(f"{po_path('en')}: {fill_english()} entries given their English msgid")
