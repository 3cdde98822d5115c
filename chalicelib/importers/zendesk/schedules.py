"""Zendesk schedules -> business calendars. PURE.

A schedule's ``intervals`` are minutes from Sunday 00:00 in its ``time_zone``
(a Rails name such as ``"Tokyo"`` or ``"Pacific Time (US & Canada)"``, or an
IANA name); its holidays (``start_date``..``end_date``, inclusive) become
``closed_dates``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.importers.zendesk.model import Finding

RAILS_ZONES = {
    "Tokyo": "Asia/Tokyo", "Osaka": "Asia/Tokyo", "Sapporo": "Asia/Tokyo", "Seoul": "Asia/Seoul",
    "Beijing": "Asia/Shanghai", "Hong Kong": "Asia/Hong_Kong", "Taipei": "Asia/Taipei", "Singapore": "Asia/Singapore",
    "Kuala Lumpur": "Asia/Kuala_Lumpur", "Bangkok": "Asia/Bangkok", "Jakarta": "Asia/Jakarta",
    "Mumbai": "Asia/Kolkata", "New Delhi": "Asia/Kolkata", "Chennai": "Asia/Kolkata", "Kolkata": "Asia/Kolkata",
    "Sydney": "Australia/Sydney", "Melbourne": "Australia/Melbourne", "Brisbane": "Australia/Brisbane",
    "Perth": "Australia/Perth", "Auckland": "Pacific/Auckland", "UTC": "UTC", "London": "Europe/London",
    "Edinburgh": "Europe/London", "Dublin": "Europe/Dublin", "Lisbon": "Europe/Lisbon", "Paris": "Europe/Paris",
    "Berlin": "Europe/Berlin", "Amsterdam": "Europe/Amsterdam", "Madrid": "Europe/Madrid", "Rome": "Europe/Rome",
    "Stockholm": "Europe/Stockholm", "Warsaw": "Europe/Warsaw", "Moscow": "Europe/Moscow",
    "Eastern Time (US & Canada)": "America/New_York", "Central Time (US & Canada)": "America/Chicago",
    "Mountain Time (US & Canada)": "America/Denver", "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Arizona": "America/Phoenix", "Alaska": "America/Juneau", "Hawaii": "Pacific/Honolulu",
    "Brasilia": "America/Sao_Paulo", "Buenos Aires": "America/Argentina/Buenos_Aires",
    "Mexico City": "America/Mexico_City", "Bogota": "America/Bogota",
}
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DAY = 1440


def timezone_of(name: str) -> str | None:
    """The IANA zone of a Zendesk (Rails) or IANA time-zone name, or None."""
    zone = RAILS_ZONES.get(name, name)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return zone


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _dates(holiday: Mapping[str, Any]) -> list[str]:
    first = date.fromisoformat(str(holiday["start_date"]))
    last = date.fromisoformat(str(holiday.get("end_date") or holiday["start_date"]))
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def calendar(schedule: Mapping[str, Any], cal_id: str, pointer: str, findings: list[Finding],
             country: str | None = None) -> dict[str, Any] | None:
    """Our calendar document for one schedule (None if its time zone is unknown)."""
    name = str(schedule.get("name") or cal_id)
    zone = timezone_of(str(schedule.get("time_zone") or ""))
    if zone is None:
        findings.append(Finding("schedules", f"{pointer}/time_zone", name, schedule.get("time_zone"),
                                "unknown time zone; add it to the calendar by hand"))
        return None
    weekly: dict[str, list[list[str]]] = {}
    for interval in schedule.get("intervals") or []:
        start, end = int(interval["start_time"]), int(interval["end_time"])
        while start < end:  # an interval may run past midnight: split it per day
            day, offset = divmod(start, DAY)
            stop = min(end, (day + 1) * DAY)
            weekly.setdefault(DAYS[day % 7], []).append([_hhmm(offset), _hhmm(stop - day * DAY)])
            start = stop
    ordered = {d: sorted(weekly[d]) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if d in weekly}
    closed: list[str] = []
    for j, holiday in enumerate(schedule.get("holidays") or []):
        try:
            closed += _dates(holiday)
        except (KeyError, ValueError):
            findings.append(Finding("schedules", f"{pointer}/holidays/{j}", name, holiday,
                                    "holiday without a valid start_date/end_date"))
    doc: dict[str, Any] = {"id": cal_id, "name": name,
                           "description": f"Imported from Zendesk schedule {schedule.get('id')} ({name}).",
                           "timezone": zone, "weekly": ordered, "closed_dates": sorted(set(closed))}
    if country:
        doc["holidays"] = {"country": country}
    return doc


ALWAYS_OPEN = {"id": "24x7", "name": "Around the clock", "timezone": "UTC", "always_open": True,
               "description": "Zendesk metrics in calendar hours (business_hours: false)."}
