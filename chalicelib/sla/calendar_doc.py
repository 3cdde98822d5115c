"""The business calendar document: its JSON Schema and ``load_calendar``.

A calendar is data (``rules/calendars/<id>.json``); ``load_calendar`` checks it
field by field (a ValueError names the bad field) and builds a ``BusinessCalendar``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from chalicelib.sla.calendar import WEEKDAYS, BusinessCalendar, Hours

_TIME_RE = re.compile(r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_PATTERN = _TIME_RE.pattern
_DATE_PATTERN = _DATE_RE.pattern
_FIELDS = ("id", "name", "description", "timezone", "weekly", "holidays",
           "closed_dates", "open_dates", "always_open")

_HOURS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "array",
        "prefixItems": [
            {"type": "string", "pattern": _TIME_PATTERN},
            {"type": "string", "pattern": _TIME_PATTERN},
        ],
        "minItems": 2,
        "maxItems": 2,
    },
}

CALENDAR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://helpdesk.invalid/schemas/calendar.json",
    "title": "Business calendar",
    "description": "Opening hours, holidays and days off for SLA clocks. "
                   "Times are local 'HH:MM' (end may be '24:00'); dates are 'YYYY-MM-DD'.",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "timezone"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "timezone": {"type": "string", "minLength": 1},
        "always_open": {"type": "boolean"},
        "weekly": {
            "type": "object",
            "additionalProperties": False,
            "properties": {day: _HOURS_SCHEMA for day in WEEKDAYS},
        },
        "holidays": {
            "type": "object",
            "additionalProperties": False,
            "required": ["country"],
            "properties": {
                "country": {"type": "string", "pattern": r"^[A-Z]{2,3}$"},
                "subdiv": {"type": "string"},
            },
        },
        "closed_dates": {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "pattern": _DATE_PATTERN},
        },
        "open_dates": {
            "type": "object",
            "propertyNames": {"pattern": _DATE_PATTERN},
            "additionalProperties": _HOURS_SCHEMA,
        },
    },
    "if": {"required": ["always_open"], "properties": {"always_open": {"const": True}}},
    "then": {"not": {"anyOf": [{"required": [k]} for k in
                               ("weekly", "holidays", "closed_dates", "open_dates")]}},
    "else": {"required": ["weekly"]},
}


def load_calendar(doc: Mapping[str, Any]) -> BusinessCalendar:
    """Build a calendar from its JSON document; ValueError names the bad field."""
    if not isinstance(doc, Mapping):
        raise ValueError("calendar: must be a JSON object")
    unknown = sorted(set(doc) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown calendar field")
    cal_id = doc.get("id")
    if not isinstance(cal_id, str) or not cal_id:
        raise ValueError("id: must be a non-empty string")
    tz_name = doc.get("timezone")
    if not isinstance(tz_name, str) or not tz_name:
        raise ValueError("timezone: must be an IANA time zone name such as 'Asia/Tokyo'")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: unknown time zone {tz_name!r}") from exc
    always_open = doc.get("always_open", False)
    if not isinstance(always_open, bool):
        raise ValueError("always_open: must be true or false")
    if always_open:
        extra = [k for k in ("weekly", "holidays", "closed_dates", "open_dates") if k in doc]
        if extra:
            raise ValueError(f"{extra[0]}: not allowed when always_open is true")
        return BusinessCalendar(id=cal_id, timezone=tz_name, always_open=True)
    if "weekly" not in doc:
        raise ValueError("weekly: required unless always_open is true")
    country, subdiv = _parse_holidays(doc.get("holidays"))
    return BusinessCalendar(
        id=cal_id,
        timezone=tz_name,
        weekly=_parse_weekly(doc["weekly"]),
        holiday_country=country,
        holiday_subdiv=subdiv,
        closed_dates=frozenset(_parse_closed(doc.get("closed_dates", []))),
        open_dates=_parse_open_dates(doc.get("open_dates", {})),
    )


def _parse_weekly(weekly: Any) -> tuple[Hours, ...]:
    if not isinstance(weekly, Mapping):
        raise ValueError("weekly: must be an object keyed by 'mon'..'sun'")
    bad = sorted(set(weekly) - set(WEEKDAYS))
    if bad:
        raise ValueError(f"weekly.{bad[0]}: unknown day (use {', '.join(WEEKDAYS)})")
    return tuple(_parse_hours(weekly.get(day, []), f"weekly.{day}") for day in WEEKDAYS)


def _parse_holidays(spec: Any) -> tuple[str | None, str | None]:
    if spec is None:
        return None, None
    if not isinstance(spec, Mapping) or not isinstance(spec.get("country"), str):
        raise ValueError("holidays: must be an object like {\"country\": \"JP\"}")
    bad = sorted(set(spec) - {"country", "subdiv"})
    if bad:
        raise ValueError(f"holidays.{bad[0]}: unknown field")
    country, subdiv = spec["country"], spec.get("subdiv")
    if subdiv is not None and not isinstance(subdiv, str):
        raise ValueError("holidays.subdiv: must be a string")
    try:
        holidays.country_holidays(country)
    except NotImplementedError as exc:
        raise ValueError(f"holidays.country: unsupported country {country!r}") from exc
    try:
        holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError as exc:
        raise ValueError(f"holidays.subdiv: {country} has no subdivision {subdiv!r}") from exc
    return country, subdiv


def _parse_closed(dates: Any) -> list[date]:
    if not isinstance(dates, list):
        raise ValueError("closed_dates: must be a list of 'YYYY-MM-DD' dates")
    return [_parse_date(d, f"closed_dates[{i}]") for i, d in enumerate(dates)]


def _parse_open_dates(spec: Any) -> dict[date, Hours]:
    if not isinstance(spec, Mapping):
        raise ValueError("open_dates: must be an object keyed by 'YYYY-MM-DD'")
    return {_parse_date(k, f"open_dates.{k}"): _parse_hours(v, f"open_dates.{k}")
            for k, v in spec.items()}


def _parse_date(value: Any, where: str) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ValueError(f"{where}: must be a 'YYYY-MM-DD' date, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{where}: not a real date {value!r}") from exc


def _parse_hours(spec: Any, where: str) -> Hours:
    """[["09:30","12:00"], ...] -> sorted, merged (start, end) minute pairs."""
    if not isinstance(spec, list):
        raise ValueError(f"{where}: must be a list of [\"HH:MM\", \"HH:MM\"] pairs")
    pairs = []
    for i, pair in enumerate(spec):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"{where}[{i}]: must be a [\"HH:MM\", \"HH:MM\"] pair")
        start, end = (_parse_time(v, f"{where}[{i}]") for v in pair)
        if start == 1440:
            raise ValueError(f"{where}[{i}]: 24:00 may only end an interval")
        if end <= start:
            raise ValueError(f"{where}[{i}]: end {pair[1]} must be after start {pair[0]}")
        pairs.append((start, end))
    pairs.sort()
    merged: list[tuple[int, int]] = []
    for start, end in pairs:
        if merged and start < merged[-1][1]:
            raise ValueError(f"{where}: intervals overlap")
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_time(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _TIME_RE.match(value):
        raise ValueError(f"{where}: time must be 'HH:MM' (00:00-24:00), got {value!r}")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)
