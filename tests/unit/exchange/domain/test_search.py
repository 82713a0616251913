"""Folding text as a clerk searches it (exchange.domain.search)."""
from __future__ import annotations

from exchange.domain.search import document_search_text, fold, search_words


def test_case_and_diacritics_fold_away_and_d_stroke_becomes_d():
    assert fold("  Quyết ĐỊNH   về việc Đường Hỏa tốc ") == "quyet dinh ve viec duong hoa toc"
    assert fold("Nguyễn Thị Lấp Lánh Ánh") == "nguyen thi lap lanh anh"


def test_the_reference_is_searchable_as_printed_and_in_parts():
    text = document_search_text("12", "UBND-VP", "V/v Quyết định")
    assert "12/ubnd-vp" in text and "ubnd-vp" in text and "quyet dinh" in text
    assert document_search_text("", "", "Tờ trình") == "to trinh"


def test_like_wildcards_in_a_query_are_taken_literally():
    assert search_words("50% Quyết_định") == ["50\\%", "quyet\\_dinh"]
    assert search_words("   ") == []
