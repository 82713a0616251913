"""What the pages share: safe redirect targets, dates as a Vietnamese reader writes them."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from exchange.http.web.pages import local_path, vn_date, vn_time


@pytest.mark.parametrize("target, expected", [
    ("/documents/7?x=1", "/documents/7?x=1"), (None, "/"), ("", "/"), ("//evil.example/x", "/"),
    ("https://evil.example/", "/"), ("javascript:alert(1)", "/"), ("/\\evil.example", "/"), ("relative", "/"),
])
def test_only_paths_of_this_site_are_followed(target, expected):
    assert local_path(target) == expected


def test_dates_are_day_month_year_and_times_at_plus_seven():
    assert vn_date(date(2026, 1, 5)) == vn_date("2026-01-05") == "05/01/2026"
    assert vn_time(datetime(2026, 1, 5, 17, 30, tzinfo=timezone.utc)) == "06/01/2026 00:30 (+07:00)"
    assert vn_time("2026-01-05T17:30:00Z") == "06/01/2026 00:30 (+07:00)"
    assert vn_date(None) == vn_time(None) == ""
