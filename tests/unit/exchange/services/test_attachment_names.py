"""Attachment names and types: the user's Unicode name kept (NFC), no folder, nothing invisible."""
from __future__ import annotations

import unicodedata

import pytest

from errors import Unprocessable
from exchange.services.attachments import clean_name, content_type_for


@pytest.mark.parametrize("raw, expected", [
    ("Phụ lục I.pdf", "Phụ lục I.pdf"),
    (unicodedata.normalize("NFD", "Bảng kê Đơn vị.xlsx"), "Bảng kê Đơn vị.xlsx"),  # macOS sends NFD
    ("C:\\Users\\van-thu\\Tờ trình.docx", "Tờ trình.docx"),
    ("../../etc/passwd", "passwd"),
    ("/tmp/a b.txt", "a b.txt"),
    ("hoá đơn\u202efdp.exe", "hoá đơnfdp.exe"),  # a right-to-left override would show "exe.pdf"
    ("dòng\r\nmới.txt", "dòngmới.txt"),
    ("  có khoảng trắng.txt  ", "có khoảng trắng.txt"),
])
def test_names_keep_the_users_text_without_folders_or_invisible_characters(raw, expected):
    assert clean_name(raw) == expected
    assert unicodedata.is_normalized("NFC", clean_name(raw))


@pytest.mark.parametrize("raw", ["", None, "/", "C:\\", "..", ".", "\u200b\u202e"])
def test_a_name_is_required(raw):
    with pytest.raises(Unprocessable):
        clean_name(raw)


def test_a_long_name_is_cut_to_the_column_keeping_its_extension():
    name = clean_name("Phụ lục " + "rất dài " * 60 + ".pdf")
    assert len(name) <= 255 and name.endswith(".pdf")
    assert len(clean_name("x" * 400)) == 255


@pytest.mark.parametrize("name, is_pdf, declared, expected", [
    ("a.pdf", True, None, "application/pdf"),
    ("scan.bin", True, "text/html", "application/pdf"),  # the bytes decide what a PDF is
    ("a.pdf", False, None, "application/octet-stream"),  # named so, not a PDF: never sealed as one
    ("khong-duoi", False, "application/pdf", "application/octet-stream"),
    ("bang-ke.csv", False, "application/octet-stream", "text/csv"),
    ("khong-duoi", False, "application/vnd.ms-excel", "application/vnd.ms-excel"),
    ("khong-duoi", False, "text/html\r\nX-Evil: 1", "application/octet-stream"),
    ("khong-duoi", False, None, "application/octet-stream"),
])
def test_content_types(name, is_pdf, declared, expected):
    assert content_type_for(name, is_pdf, declared) == expected

