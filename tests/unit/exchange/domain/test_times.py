"""The API's one time format, and the audit chain's own form, which never changes."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from exchange.adapters.audit_log import hash_time
from exchange.domain.times import VN_TZ, api_time, api_time_from_stored, vn_year
from signing.report import PASSED, SignatureResult, Timestamp, build_report

API_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
WHEN = datetime(2026, 12, 1, 15, 4, 5, 678901, tzinfo=timezone.utc)


def test_api_time_is_utc_whole_seconds_with_z():
    assert api_time(WHEN) == "2026-12-01T15:04:05Z"
    assert api_time(WHEN.astimezone(VN_TZ)) == "2026-12-01T15:04:05Z"  # the same instant, shown in UTC
    assert api_time(None) is None
    with pytest.raises(ValueError):
        api_time(datetime(2026, 12, 1, 15, 4, 5))  # naive: no place in the API


def test_stored_values_read_without_the_column_type_give_the_same_format():
    assert api_time_from_stored("2026-12-01 15:04:05.678901") == "2026-12-01T15:04:05Z"  # SQLite's text
    assert api_time_from_stored(WHEN) == "2026-12-01T15:04:05Z"  # PostgreSQL's timestamptz
    assert api_time_from_stored(None) is None


def test_the_audit_hash_keeps_its_microseconds():
    assert hash_time(WHEN) == "2026-12-01T15:04:05.678901Z"


def test_the_verification_report_uses_the_api_format():
    signed_at = datetime(2026, 12, 1, 22, 4, 5, 120000, tzinfo=timezone(timedelta(hours=7)))
    stamped_at = datetime(2026, 12, 1, 15, 4, 6)  # a naive time from a file: read as UTC
    report = build_report([SignatureResult(field="Sig1", indication=PASSED, sub_indication=None,
                                           signing_time=signed_at, timestamp=Timestamp(stamped_at, "TSA", True))],
                          [], validated_at=WHEN)
    data = report.to_json()
    assert data["validated_at"] == api_time(WHEN)
    assert data["signatures"][0]["signing_time"] == "2026-12-01T15:04:05Z"
    assert data["signatures"][0]["timestamp"]["time"] == "2026-12-01T15:04:06Z"
    assert all(API_TIME.match(v) for v in (data["validated_at"], data["signatures"][0]["signing_time"]))


def test_registers_follow_the_year_in_vietnam():
    assert vn_year(datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)) == 2027
