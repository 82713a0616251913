"""The one time format of the API (RFC 3339, UTC, whole seconds, ``Z``) and the calendar
the registers run on (Vietnam, UTC+7, no daylight saving time)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7))


def api_time(at: datetime | None) -> str | None:
    """``2026-12-01T15:04:05Z``; None stays None."""
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError(f"a naive datetime has no place in the API: {at!r}")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_time_from_stored(value: str | datetime | None) -> str | None:
    """The same format from a value read without the column type: SQLite's stored UTC text
    (``2026-11-26 11:08:16.259355``, naive: SQLite keeps no offset), or PostgreSQL's
    ``timestamptz``, which the driver gives aware."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return api_time(value)
    return value[:10] + "T" + value[11:19] + "Z"


def api_date(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def vn_year(at: datetime) -> int:
    """The calendar year in Vietnam: số đến and số đi restart on 1 January there."""
    return at.astimezone(VN_TZ).year


def vn_today() -> date:
    return datetime.now(VN_TZ).date()
