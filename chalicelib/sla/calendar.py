"""Business calendars: opening hours, holidays and business-minute arithmetic.

A calendar is data (``rules/calendars/<id>.json``) turned into a
``BusinessCalendar`` by ``load_calendar``. Arithmetic works on each day's
opening intervals converted to UTC with zoneinfo, so split shifts and DST
changes are exact. Intervals are half-open: open at 09:30, closed at 18:30.
Inputs must be timezone-aware; outputs are UTC.

Cost does not grow with the span: ``business_minutes_between`` uses cached
per-year prefix sums of open seconds (built once per calendar and year), so a
ticket one year old costs what a new one costs; ``add_business_minutes`` and
``subtract_business_minutes`` walk only the days the offset covers.

The calendar document (its JSON Schema and ``load_calendar``) lives in ``calendar_doc``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UTC = timezone.utc
Interval = tuple[datetime, datetime]
Hours = tuple[tuple[int, int], ...]  # (start, end) in minutes after local midnight

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar with no business hours for this many days in a row is broken.
MAX_CLOSED_DAYS = 366
_MINUTE = timedelta(minutes=1)
_DAY_CACHE_LIMIT = 4096
@lru_cache(maxsize=256)
def holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    """National (and regional) public holidays of one year, cached per year."""
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


def _aware(t: datetime, name: str = "datetime") -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {t!r}")
    return t.astimezone(UTC)


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Opening hours of one team. Build it with ``load_calendar``."""

    id: str
    timezone: str
    weekly: tuple[Hours, ...] = ((),) * 7  # Monday first
    holiday_country: str | None = None
    holiday_subdiv: str | None = None
    closed_dates: frozenset[date] = frozenset()
    open_dates: Mapping[date, Hours] = field(default_factory=dict)
    always_open: bool = False
    _days: dict[date, tuple[Interval, ...]] = field(default_factory=dict, init=False, repr=False)
    _years: dict[int, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: date) -> bool:
        """True if ``day`` is a public holiday of the configured country."""
        if self.holiday_country is None:
            return False
        return day in holiday_dates(self.holiday_country, self.holiday_subdiv, day.year)

    def hours_on(self, day: date) -> Hours:
        """Local opening hours of ``day`` as minutes after midnight (empty: closed).

        Precedence: ``open_dates`` > ``closed_dates`` > holidays > ``weekly``.
        """
        if self.always_open:
            return ((0, 1440),)
        if day in self.open_dates:
            return self.open_dates[day]
        if day in self.closed_dates or self.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """Opening intervals of local ``day`` as UTC (start, end) pairs, cached."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        tz = self.tz
        out = []
        for start_min, end_min in self.hours_on(day):
            start = _local(day, start_min, tz)
            end = _local(day, end_min, tz)
            if end > start:  # an interval swallowed by a DST gap disappears
                out.append((start, end))
        result = tuple(out)
        if len(self._days) >= _DAY_CACHE_LIMIT:
            self._days.clear()
        self._days[day] = result
        return result

    def open_intervals(self, start: datetime, end: datetime | None = None) -> Iterator[Interval]:
        """Opening intervals from ``start`` (clipped to it) in order, UTC.

        With ``end`` the intervals are clipped to it and the walk stops there;
        without, it goes on and raises ValueError after MAX_CLOSED_DAYS closed days.
        """
        start = _aware(start, "start")
        stop = None if end is None else _aware(end, "end")
        if stop is not None and stop <= start:
            return
        tz = self.tz
        day = start.astimezone(tz).date()
        last_day = None if stop is None else stop.astimezone(tz).date()
        closed_run = 0
        while last_day is None or day <= last_day:
            found = False
            for s, e in self.intervals_on(day):
                if e <= start:
                    continue
                s = max(s, start)
                if stop is not None:
                    if s >= stop:
                        return
                    e = min(e, stop)
                found = True
                yield s, e
            closed_run = 0 if found else closed_run + 1
            if stop is None and closed_run > MAX_CLOSED_DAYS:
                raise ValueError(f"calendar {self.id!r} has no business hours within "
                                 f"{MAX_CLOSED_DAYS} days after {day.isoformat()}")
            day += timedelta(days=1)

    def is_open(self, t: datetime) -> bool:
        """True if the team is working at instant ``t``."""
        t = _aware(t, "t")
        if self.always_open:
            return True
        day = t.astimezone(self.tz).date()
        return any(s <= t < e for s, e in self.intervals_on(day))

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself (UTC) if open, else the start of the next opening interval."""
        t = _aware(t, "t")
        if self.always_open:
            return t
        return next(self.open_intervals(t))[0]

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant when ``minutes`` business minutes have passed since ``start``.

        Counting starts at the next opening if ``start`` is outside hours; a
        target that ends exactly at closing time is due at closing time.
        0 minutes gives ``start`` if open, else the next opening.
        """
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        start = _aware(start, "start")
        if self.always_open:
            return start + minutes * _MINUTE
        if minutes == 0:
            return self.next_open(start)
        remaining = minutes * _MINUTE
        for s, e in self.open_intervals(start):
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
        raise AssertionError("unreachable: open_intervals is unbounded")  # pragma: no cover

    def subtract_business_minutes(self, end: datetime, minutes: float) -> datetime:
        """The latest instant ``t <= end`` with ``minutes`` business minutes from ``t`` to ``end``.

        "60 business minutes before a 09:45 deadline" on a 09:30-18:30
        calendar is 17:45 of the previous working day. 0 minutes gives ``end``.
        """
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        end = _aware(end, "end")
        if self.always_open or minutes == 0:
            return end - minutes * _MINUTE
        remaining = minutes * _MINUTE
        tz = self.tz
        day = end.astimezone(tz).date()
        closed_run = 0
        while True:
            found = False
            for s, e in reversed(self.intervals_on(day)):
                if s >= end:
                    continue
                e = min(e, end)
                found = True
                if remaining <= e - s:
                    return e - remaining
                remaining -= e - s
            closed_run = 0 if found else closed_run + 1
            if closed_run > MAX_CLOSED_DAYS:
                raise ValueError(f"calendar {self.id!r} has no business hours within "
                                 f"{MAX_CLOSED_DAYS} days before {day.isoformat()}")
            day -= timedelta(days=1)

    def offset(self, t: datetime, business_minutes: float) -> datetime:
        """``t`` moved by business minutes: later when positive, earlier when negative."""
        if business_minutes < 0:
            return self.subtract_business_minutes(t, -business_minutes)
        return self.add_business_minutes(t, business_minutes)

    def business_minutes_between(self, a: datetime, b: datetime) -> float:
        """Business minutes from ``a`` to ``b``; negative when ``b`` is before ``a``.

        Constant time in the span (cached per-year prefix sums).
        """
        a, b = _aware(a, "a"), _aware(b, "b")
        if b < a:
            return -self.business_minutes_between(b, a)
        if self.always_open:
            return (b - a) / _MINUTE
        tz = self.tz
        day_a, day_b = a.astimezone(tz).date(), b.astimezone(tz).date()
        if day_a == day_b:
            return self._open_seconds_on(day_a, a, b) / 60
        head = self._open_seconds_on(day_a, a, None)
        tail = self._open_seconds_on(day_b, None, b)
        middle = self._open_seconds_between_days(day_a + timedelta(days=1), day_b)
        return (head + middle + tail) / 60

    def _open_seconds_on(self, day: date, lo: datetime | None, hi: datetime | None) -> float:
        """Open seconds of local ``day`` clipped to [lo, hi]."""
        total = 0.0
        for s, e in self.intervals_on(day):
            s = s if lo is None else max(s, lo)
            e = e if hi is None else min(e, hi)
            if e > s:
                total += (e - s).total_seconds()
        return total

    def _year_prefix(self, year: int) -> tuple[int, ...]:
        """Open seconds before each day of ``year``: entry i is Jan 1 .. day i-1; last is the year."""
        cached = self._years.get(year)
        if cached is None:
            sums = [0]
            day = date(year, 1, 1)
            while day.year == year:
                sums.append(sums[-1] + int(sum((e - s).total_seconds() for s, e in self.intervals_on(day))))
                day += timedelta(days=1)
            cached = tuple(sums)
            if len(self._years) >= 64:
                self._years.clear()
            self._years[year] = cached
        return cached

    def _open_seconds_between_days(self, first: date, last: date) -> int:
        """Open seconds from the start of local day ``first`` to the start of ``last`` (first <= last)."""
        if first.year == last.year:
            prefix = self._year_prefix(first.year)
            return prefix[last.timetuple().tm_yday - 1] - prefix[first.timetuple().tm_yday - 1]
        head = self._year_prefix(first.year)
        total = head[-1] - head[first.timetuple().tm_yday - 1]
        for year in range(first.year + 1, last.year):
            total += self._year_prefix(year)[-1]
        return total + self._year_prefix(last.year)[last.timetuple().tm_yday - 1]


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Local wall time ``minute`` after midnight of ``day``, as UTC.

    A wall time inside a DST gap maps to the instant after the gap.
    """
    if minute == 1440:
        day, minute = day + timedelta(days=1), 0
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return wall.astimezone(UTC)
