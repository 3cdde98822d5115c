"""Times as people read them: in the reader's (or the calendar's) time zone, with the zone named,
cut to the minute the same way everywhere. Pure.

One rounding rule for everything shown to a person: **never promise more time than there is**.

- A deadline is shown cut to its minute (15:00:40 shows ``15:00``): it is never later than the
  real one. Escalation deadlines are made on whole minutes, so theirs is exact.
- Time left is cut to whole minutes (67 s left is ``残り1分``, not ``残り2分``); under a minute
  is ``残り1分未満`` / ``under 1m left``; overdue time is cut likewise (59 s late is
  ``期限超過`` / ``overdue``).

``local_time(t, "Asia/Tokyo")`` gives ``2026-01-13 15:00 JST``; a zone without an abbreviation
shows its offset (``2026-01-13 15:00 UTC+05:30``). ``zone_for`` picks the person's
``timezone`` (directory entries and agents may have one), else the calendar's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
DEFAULT_ZONE = "Asia/Tokyo"


def valid_zone(name: Any) -> bool:
    """True if ``name`` is an IANA time zone name zoneinfo knows."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_for(person: Mapping[str, Any] | None, calendar_zone: str | None) -> str:
    """The zone to show times in: the person's ``timezone``, else the calendar's, else Asia/Tokyo."""
    own = (person or {}).get("timezone")
    if valid_zone(own):
        return str(own)
    return calendar_zone if valid_zone(calendar_zone) else DEFAULT_ZONE


def zone_name(local: datetime) -> str:
    """``JST``, ``CET``, ``UTC``; ``UTC+05:30`` when the zone has no letters for itself."""
    abbr = local.tzname() or ""
    if abbr and abbr[0] not in "+-" and abbr != "UTC":
        return abbr
    offset = local.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return "UTC"
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def local_time(t: datetime | str | None, zone: str) -> str:
    """``2026-01-13 15:00 JST``: ``t`` in ``zone``, cut to the minute, zone named ('' for None)."""
    if t is None or t == "":
        return ""
    if isinstance(t, str):
        t = datetime.fromisoformat(t.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time must be timezone-aware, got {t!r}")
    local = t.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {zone_name(local)}"


def ceil_minute(t: datetime) -> datetime:
    """``t`` moved up to a whole minute (unchanged when it is one): for deadlines people are told."""
    cut = t.replace(second=0, microsecond=0)
    return cut if cut == t else cut + timedelta(minutes=1)


def minutes_left(due: datetime, now: datetime) -> float:
    """Wall-clock minutes from ``now`` to ``due`` (negative when overdue), unrounded."""
    return (due - now).total_seconds() / 60
