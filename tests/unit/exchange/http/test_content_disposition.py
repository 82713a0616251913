"""Content-Disposition of attachment downloads (RFC 6266): an ASCII ``filename`` and the exact
UTF-8 name in ``filename*``, parsed back to the user's name by a standard parser."""
from __future__ import annotations

import pytest
from werkzeug.http import parse_options_header

from exchange.http.api.attachments import content_disposition


def _parsed(header: str) -> str | None:
    """What a client that knows RFC 6266 reads: ``filename*`` when present."""
    kind, options = parse_options_header(header)
    assert kind == "attachment"
    return options.get("filename")


@pytest.mark.parametrize("name", ["Phụ lục I - Bảng kê.pdf", "bang-ke.csv", 'dấu "ngoặc"; và , phẩy.txt',
                                  "Đơn đề nghị.docx", "100% kinh phí.xlsx"])
def test_the_users_name_comes_back_exactly(name):
    header = content_disposition(name)
    assert header.startswith("attachment;")
    assert _parsed(header) == name
    assert "\n" not in header and "\r" not in header


def test_non_ascii_names_have_an_ascii_fallback():
    header = content_disposition("Phụ lục Đơn.pdf")
    assert 'filename="Phu luc Don.pdf"' in header
    assert "filename*=UTF-8''Ph%E1%BB%A5%20l%E1%BB%A5c%20%C4%90%C6%A1n.pdf" in header
    header.encode("latin-1")  # a header value must be Latin-1 encodable
