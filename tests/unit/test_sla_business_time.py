"""Business-time arithmetic that does not grow with the span: prefix sums agree with walking
every opening interval, and business offsets before a deadline invert offsets after it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.sla.calendar_doc import load_calendar

UTC = timezone.utc
CALENDARS = [
    load_calendar({"id": "jp", "timezone": "Asia/Tokyo", "holidays": {"country": "JP"},
                   "closed_dates": ["2026-12-29", "2026-12-30", "2027-01-04"],
                   "open_dates": {"2026-01-10": [["10:00", "15:00"]]},
                   "weekly": {d: [["09:30", "18:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}}),
    load_calendar({"id": "split", "timezone": "Europe/Berlin",  # DST changes, split shifts, a night shift
                   "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "wed": [["22:00", "24:00"]],
                              "sat": [["00:00", "03:00"], ["10:00", "11:30"]]}}),
    load_calendar({"id": "always", "timezone": "UTC", "always_open": True}),
]
instants = st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))


def _walked(cal, a: datetime, b: datetime) -> float:
    return sum(((e - s) for s, e in cal.open_intervals(a, b)), timedelta(0)).total_seconds() / 60


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CALENDARS), instants, instants)
def test_prefix_sums_equal_walking_every_interval(cal, a, b):
    lo, hi = min(a, b), max(a, b)
    assert abs(cal.business_minutes_between(lo, hi) - _walked(cal, lo, hi)) < 1e-6
    assert cal.business_minutes_between(hi, lo) == -cal.business_minutes_between(lo, hi)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CALENDARS), instants, st.integers(min_value=1, max_value=6000))
def test_business_minutes_before_a_deadline(cal, deadline, minutes):
    before = cal.subtract_business_minutes(deadline, minutes)
    assert before <= deadline
    assert abs(cal.business_minutes_between(before, deadline) - minutes) < 1e-6
    # the latest such instant: it is open just before the returned one or it is the deadline side
    assert cal.offset(deadline, -minutes) == before


def test_the_issue_example_warns_the_previous_evening_not_before_opening():
    cal = CALENDARS[0]
    deadline = datetime(2026, 1, 14, 0, 45, tzinfo=UTC)  # Wed 09:45 JST
    assert cal.subtract_business_minutes(deadline, 60) == datetime(2026, 1, 13, 8, 45, tzinfo=UTC)  # Tue 17:45 JST
    assert cal.offset(deadline, 0) == deadline
