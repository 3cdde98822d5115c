"""Report days: local calendar days in the report time zone, and their UTC bounds.

Aggregates are kept per local day of ``HELPDESK_REPORT_TZ`` (default
``Asia/Tokyo``): a Japanese team's Monday is Monday in Tokyo, not in UTC.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

REPORT_TZ_ENV = "HELPDESK_REPORT_TZ"
DEFAULT_REPORT_TZ = "Asia/Tokyo"
UTC = timezone.utc


def report_timezone() -> ZoneInfo:
    """The report time zone (read from the environment on each call, never at import)."""
    return ZoneInfo(os.environ.get(REPORT_TZ_ENV) or DEFAULT_REPORT_TZ)


def day_of(at: datetime, tz: ZoneInfo | None = None) -> date:
    """The local day of an aware instant."""
    if at.tzinfo is None:
        raise ValueError(f"datetime must be timezone-aware, got {at!r}")
    return at.astimezone(tz or report_timezone()).date()


def day_key(at: datetime, tz: ZoneInfo | None = None) -> str:
    """``YYYY-MM-DD`` of the local day of ``at`` (the event-by-day index key)."""
    return day_of(at, tz).isoformat()


def day_bounds(day: date, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """UTC [start, end) of a local day (23 or 25 hours long across a DST change)."""
    zone = tz or report_timezone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def days_between(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last`` inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
