"""Business calendar arithmetic: hours, holidays, days off, split shifts, DST."""

from __future__ import annotations

import json
import subprocess
import sys
import time as time_mod
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from chalicelib.sla import calendar as calendar_mod
from chalicelib.sla.calendar import holiday_dates
from chalicelib.sla.calendar_doc import CALENDAR_SCHEMA, load_calendar

ROOT = Path(__file__).resolve().parents[2]
JST = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")
UTC = timezone.utc
WEEKDAYS_930_1830 = {d: [["09:30", "18:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def jp_calendar(**extra):
    return load_calendar({"id": "jp", "timezone": "Asia/Tokyo", "weekly": WEEKDAYS_930_1830,
                          "holidays": {"country": "JP"}, **extra})


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


# --- the must-pass examples ---------------------------------------------------


def test_jp_holiday_data_has_the_days_the_examples_rely_on():
    jp_2026 = holiday_dates("JP", None, 2026)
    assert date(2026, 1, 12) in jp_2026  # 成人の日 (Monday)
    assert date(2026, 5, 6) in jp_2026  # 振替休日 for Sunday 5/3
    assert date(2026, 9, 22) in jp_2026  # 国民の休日 between two holidays
    assert date(2026, 1, 13) not in jp_2026


def test_four_business_hours_from_16_00_is_11_00_next_working_day():
    cal = jp_calendar()
    due = cal.add_business_minutes(jst(2026, 1, 14, 16, 0), 240)  # Wednesday
    assert due == jst(2026, 1, 15, 11, 0)
    assert due.tzinfo is UTC


def test_friday_before_coming_of_age_day():
    cal = jp_calendar()
    friday = jst(2026, 1, 9, 16, 0)
    assert cal.add_business_minutes(friday, 120) == jst(2026, 1, 9, 18, 0)
    assert cal.add_business_minutes(friday, 240) == jst(2026, 1, 13, 11, 0)  # Mon is a holiday
    assert cal.business_minutes_between(friday, jst(2026, 1, 13, 11, 0)) == 240


def test_golden_week_substitute_holiday_and_silver_week_citizens_holiday():
    cal = jp_calendar()
    # Fri 5/1 17:00: 90 min left that day; 5/2-5/6 weekend + holidays incl. 振替休日.
    assert cal.add_business_minutes(jst(2026, 5, 1, 17, 0), 120) == jst(2026, 5, 7, 10, 0)
    # Fri 9/18 18:00: 9/21 敬老の日, 9/22 国民の休日, 9/23 秋分の日.
    assert cal.add_business_minutes(jst(2026, 9, 18, 18, 0), 60) == jst(2026, 9, 24, 10, 0)


# --- opening rules ------------------------------------------------------------


def test_deadline_landing_on_closing_time_is_closing_time():
    cal = jp_calendar()
    assert cal.add_business_minutes(jst(2026, 1, 14, 16, 0), 150) == jst(2026, 1, 14, 18, 30)


def test_zero_minutes_is_start_when_open_else_next_opening():
    cal = jp_calendar()
    assert cal.add_business_minutes(jst(2026, 1, 14, 10, 0), 0) == jst(2026, 1, 14, 10, 0)
    assert cal.add_business_minutes(jst(2026, 1, 14, 20, 0), 0) == jst(2026, 1, 15, 9, 30)


def test_start_outside_hours_counts_from_next_opening():
    cal = jp_calendar()
    assert cal.add_business_minutes(jst(2026, 1, 10, 3, 0), 30) == jst(2026, 1, 13, 10, 0)
    assert cal.next_open(jst(2026, 1, 14, 18, 30)) == jst(2026, 1, 15, 9, 30)  # half-open
    assert cal.next_open(jst(2026, 1, 14, 9, 30)) == jst(2026, 1, 14, 9, 30)


def test_split_shift_skips_lunch_break():
    weekly = {"tue": [["13:00", "18:30"], ["09:30", "12:00"]]}  # order does not matter
    cal = load_calendar({"id": "split", "timezone": "Asia/Tokyo", "weekly": weekly})
    tue = (2026, 1, 13)
    assert cal.add_business_minutes(jst(*tue, 11, 30), 60) == jst(*tue, 13, 30)
    assert not cal.is_open(jst(*tue, 12, 30))
    assert cal.is_open(jst(*tue, 13, 0))
    assert cal.next_open(jst(*tue, 12, 30)) == jst(*tue, 13, 0)
    assert cal.business_minutes_between(jst(*tue, 11, 0), jst(*tue, 14, 0)) == 120
    # Only Tuesdays open: Tuesday 18:00 + 60 → next Tuesday 10:00.
    assert cal.add_business_minutes(jst(*tue, 18, 0), 60) == jst(2026, 1, 20, 10, 0)


def test_company_day_off_is_closed():
    cal = jp_calendar(closed_dates=["2026-01-14"])
    assert not cal.is_open(jst(2026, 1, 14, 10, 0))
    assert cal.add_business_minutes(jst(2026, 1, 13, 18, 0), 60) == jst(2026, 1, 15, 10, 0)


def test_year_end_closure_in_sample_calendar():
    cal = load_calendar(json.loads((ROOT / "rules/calendars/jp-office.json").read_text()))
    assert cal.add_business_minutes(jst(2026, 12, 28, 18, 0), 60) == jst(2027, 1, 4, 10, 0)
    assert cal.business_minutes_between(jst(2026, 12, 29, 0, 0), jst(2027, 1, 4, 9, 30)) == 0


def test_open_dates_override_weekends_and_holidays():
    cal = jp_calendar(open_dates={"2026-11-28": [["10:00", "15:00"]],  # Saturday
                                  "2026-11-23": [["09:30", "12:00"]]})  # 勤労感謝の日
    assert cal.add_business_minutes(jst(2026, 11, 27, 18, 0), 60) == jst(2026, 11, 28, 10, 30)
    assert not cal.is_open(jst(2026, 11, 28, 15, 0))
    assert cal.is_open(jst(2026, 11, 23, 11, 0))
    assert not cal.is_open(jst(2026, 11, 23, 13, 0))


def test_always_open_counts_wall_clock():
    cal = load_calendar(json.loads((ROOT / "rules/calendars/24x7.json").read_text()))
    start = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)
    assert cal.is_open(start)
    assert cal.add_business_minutes(start, 90) == datetime(2026, 1, 2, 0, 30, tzinfo=UTC)
    assert cal.business_minutes_between(start, start + timedelta(days=2)) == 2880


def test_minutes_between_is_negative_when_reversed():
    cal = jp_calendar()
    a, b = jst(2026, 1, 14, 16, 0), jst(2026, 1, 15, 11, 0)
    assert cal.business_minutes_between(a, b) == 240
    assert cal.business_minutes_between(b, a) == -240
    assert cal.business_minutes_between(a, a) == 0


def test_naive_datetimes_are_rejected():
    cal = jp_calendar()
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.is_open(datetime(2026, 1, 14, 10, 0))


# --- daylight saving time ---------------------------------------------------------


def test_new_york_business_hours_across_march_dst_change():
    weekdays = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    cal = load_calendar({"id": "ny", "timezone": "America/New_York", "weekly": weekdays})
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=NY)  # EST, UTC-5
    due = cal.add_business_minutes(friday, 120)
    assert due == datetime(2026, 3, 9, 10, 0, tzinfo=NY)  # EDT, UTC-4
    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    assert cal.is_open(datetime(2026, 3, 9, 13, 0, tzinfo=UTC))  # 09:00 EDT
    assert not cal.is_open(datetime(2026, 3, 6, 13, 0, tzinfo=UTC))  # 08:00 EST


def test_round_the_clock_local_day_has_23_and_25_hours_on_dst_days():
    all_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    cal = load_calendar({"id": "ny24", "timezone": "America/New_York", "weekly": all_day})
    spring = cal.business_minutes_between(datetime(2026, 3, 7, 12, tzinfo=NY),
                                          datetime(2026, 3, 8, 12, tzinfo=NY))
    fall = cal.business_minutes_between(datetime(2026, 10, 31, 12, tzinfo=NY),
                                        datetime(2026, 11, 1, 12, tzinfo=NY))
    assert (spring, fall) == (23 * 60, 25 * 60)


def test_interval_inside_dst_gap_disappears():
    cal = load_calendar({"id": "gap", "timezone": "America/New_York",
                         "weekly": {"sun": [["02:00", "03:00"]]}})
    assert cal.intervals_on(date(2026, 3, 8)) == ()
    assert len(cal.intervals_on(date(2026, 3, 15))) == 1


# --- consistency and speed ------------------------------------------------------------


@pytest.mark.parametrize("minutes", [1, 59, 240, 541, 3000, 20000])
def test_add_then_measure_round_trips(minutes):
    cal = load_calendar({"id": "split", "timezone": "America/New_York",
                         "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]],
                                    "fri": [["01:30", "03:30"]], "sun": [["00:00", "24:00"]]},
                         "holidays": {"country": "US"}})
    start = datetime(2026, 3, 1, 7, 13, tzinfo=UTC)
    for hours in range(0, 24 * 14, 7):
        s = start + timedelta(hours=hours)
        assert cal.business_minutes_between(s, cal.add_business_minutes(s, minutes)) == minutes


def test_long_spans_are_fast_and_holidays_load_once_per_year(monkeypatch):
    calls = []
    real = calendar_mod.holidays.country_holidays

    def counting(country, subdiv=None, years=None, **kw):
        calls.append(years)
        return real(country, subdiv=subdiv, years=years, **kw)

    cal = jp_calendar()
    holiday_dates.cache_clear()
    monkeypatch.setattr(calendar_mod.holidays, "country_holidays", counting)
    started = time_mod.perf_counter()
    due = cal.add_business_minutes(jst(2026, 1, 5, 9, 30), 540 * 700)  # ~3 years of work
    assert cal.business_minutes_between(jst(2026, 1, 5, 9, 30), due) == 540 * 700
    assert time_mod.perf_counter() - started < 2
    assert due.astimezone(JST).year == 2028
    assert sorted(calls) == [2026, 2027, 2028]  # once per year, not once per day
    holiday_dates.cache_clear()


def test_calendar_without_any_hours_fails_clearly():
    cal = load_calendar({"id": "never", "timezone": "UTC", "weekly": {}})
    with pytest.raises(ValueError, match="no business hours"):
        cal.next_open(datetime(2026, 1, 1, tzinfo=UTC))
    assert cal.business_minutes_between(datetime(2026, 1, 1, tzinfo=UTC),
                                        datetime(2028, 1, 1, tzinfo=UTC)) == 0


# --- loading and schema --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"timezone": "UTC", "weekly": {}}, "id"),
        ({"id": "x", "timezone": "Mars/Base", "weekly": {}}, "timezone"),
        ({"id": "x", "timezone": "UTC", "weekley": {}}, "weekley"),
        ({"id": "x", "timezone": "UTC"}, "weekly"),
        ({"id": "x", "timezone": "UTC", "weekly": {"mon": [["25:00", "26:00"]]}}, "weekly.mon[0]"),
        ({"id": "x", "timezone": "UTC", "weekly": {"tue": [["18:00", "09:00"]]}}, "weekly.tue[0]"),
        ({"id": "x", "timezone": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}},
         "weekly.mon"),
        ({"id": "x", "timezone": "UTC", "weekly": {"monday": []}}, "weekly.monday"),
        ({"id": "x", "timezone": "UTC", "weekly": {}, "holidays": {"country": "XX"}},
         "holidays.country"),
        ({"id": "x", "timezone": "UTC", "weekly": {}, "closed_dates": ["2026-02-30"]},
         "closed_dates[0]"),
        ({"id": "x", "timezone": "UTC", "weekly": {}, "open_dates": {"2026-11-28": [["10:00"]]}},
         "open_dates.2026-11-28[0]"),
        ({"id": "x", "timezone": "UTC", "always_open": True, "weekly": {}}, "weekly"),
    ],
)
def test_bad_calendar_names_the_field(doc, field):
    with pytest.raises(ValueError) as err:
        load_calendar(doc)
    assert str(err.value).startswith(field + ":")


def test_schema_accepts_sample_files_and_rejects_bad_ones():
    validator = jsonschema.Draft202012Validator(CALENDAR_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(CALENDAR_SCHEMA)
    for path in sorted((ROOT / "rules/calendars").glob("*.json")):
        doc = json.loads(path.read_text())
        assert list(validator.iter_errors(doc)) == [], path
        assert load_calendar(doc).id == path.stem
    bad = [
        {"id": "x", "timezone": "UTC"},
        {"id": "x", "timezone": "UTC", "weekly": {"mon": [["9:30", "18:30"]]}},
        {"id": "x", "timezone": "UTC", "always_open": True, "closed_dates": []},
        {"id": "x", "timezone": "UTC", "weekly": {}, "open_dates": {"28/11": []}},
    ]
    for doc in bad:
        assert not validator.is_valid(doc), doc


def test_importing_sla_does_not_import_aws_or_chalice():
    code = ("import chalicelib.sla, sys; assert not any(m.split('.')[0] in "
            "('boto3','botocore','pynamodb','chalice') for m in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
