"""Schedule parsing, next-run computation, discovery and the runner of infra.scheduler (no AWS)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from chalice import Blueprint, Chalice, Cron, Rate

from infra.scheduler import (
    CronSchedule,
    RateSchedule,
    ScheduledJob,
    ScheduleRunner,
    discover_schedules,
    parse_schedule,
    scheduled_event,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(3 days)", timedelta(days=3)),
        ("  RATE( 2 Minutes ) ", timedelta(minutes=2)),
        (Rate(1, unit=Rate.MINUTES), timedelta(minutes=1)),
        (Rate(2, unit=Rate.HOURS), timedelta(hours=2)),
        (Rate(7, unit=Rate.DAYS), timedelta(days=7)),
    ],
)
def test_rate_expressions(expression, interval):
    schedule = parse_schedule(expression)
    assert isinstance(schedule, RateSchedule)
    assert schedule.interval == interval
    assert schedule.next_run(utc(2026, 3, 1, 12, 0)) == utc(2026, 3, 1, 12, 0) + interval


@pytest.mark.parametrize(
    "expression",
    ["rate(0 minutes)", "rate(5 seconds)", "rate(minute)", "rate(-1 minutes)", "every 5 minutes", "",
     "cron(0 12 * * ?)", "cron(0 12 * * ? * *)", "cron(61 * * * ? *)", "cron(0 24 * * ? *)",
     "cron(0 12 L * ? *)", "cron(0 12 ? * 6#3 *)", "cron(0 12 15W * ? *)", "cron(*/0 * * * ? *)",
     "cron(0 12 * FOO ? *)"],
)
def test_invalid_expressions_raise(expression):
    with pytest.raises(ValueError):
        parse_schedule(expression)


def test_unsupported_cron_extensions_say_so():
    with pytest.raises(ValueError, match="not supported locally"):
        parse_schedule("cron(0 12 L * ? *)")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # every N minutes
        ("cron(* * * * ? *)", utc(2026, 3, 1, 12, 0, 30), utc(2026, 3, 1, 12, 1)),
        ("cron(0/5 * * * ? *)", utc(2026, 3, 1, 12, 3), utc(2026, 3, 1, 12, 5)),
        ("cron(*/5 * * * ? *)", utc(2026, 3, 1, 12, 5), utc(2026, 3, 1, 12, 10)),
        ("cron(*/15 * * * ? *)", utc(2026, 3, 1, 23, 50), utc(2026, 3, 2, 0, 0)),
        ("cron(2/10 * * * ? *)", utc(2026, 3, 1, 12, 55), utc(2026, 3, 1, 13, 2)),
        ("cron(0,30 * * * ? *)", utc(2026, 3, 1, 12, 10), utc(2026, 3, 1, 12, 30)),
        ("cron(10-12 * * * ? *)", utc(2026, 3, 1, 12, 12), utc(2026, 3, 1, 13, 10)),
        # daily / hourly
        ("cron(0 9 * * ? *)", utc(2026, 3, 1, 8, 59), utc(2026, 3, 1, 9, 0)),
        ("cron(0 9 * * ? *)", utc(2026, 3, 1, 9, 0), utc(2026, 3, 2, 9, 0)),
        ("cron(15 */6 * * ? *)", utc(2026, 3, 1, 7, 0), utc(2026, 3, 1, 12, 15)),
        # weekdays (2026-03-01 is a Sunday; EventBridge: 1 = SUN)
        ("cron(0 9 ? * MON-FRI *)", utc(2026, 3, 1, 10, 0), utc(2026, 3, 2, 9, 0)),
        ("cron(0 9 ? * 2-6 *)", utc(2026, 3, 6, 9, 0), utc(2026, 3, 9, 9, 0)),
        ("cron(0 0 ? * SUN *)", utc(2026, 3, 1, 0, 0), utc(2026, 3, 8, 0, 0)),
        ("cron(0 0 ? * FRI-MON *)", utc(2026, 3, 2, 1, 0), utc(2026, 3, 6, 0, 0)),
        # day of month, month names, leap years, years
        ("cron(0 0 1 * ? *)", utc(2026, 3, 15), utc(2026, 4, 1)),
        ("cron(0 0 31 * ? *)", utc(2026, 4, 1), utc(2026, 5, 31)),
        ("cron(30 6 29 FEB ? *)", utc(2026, 3, 1), utc(2028, 2, 29, 6, 30)),
        ("cron(0 0 1 JAN,JUL ? *)", utc(2026, 3, 1), utc(2026, 7, 1)),
        ("cron(0 0 1 1 ? 2027)", utc(2026, 3, 1), utc(2027, 1, 1)),
    ],
)
def test_cron_next_run(expression, after, expected):
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    assert schedule.next_run(after) == expected


def test_cron_object_and_no_further_runs():
    assert parse_schedule(Cron(0, 10, "*", "*", "?", "*")).next_run(utc(2026, 3, 1, 11)) == utc(2026, 3, 2, 10)
    assert parse_schedule("cron(0 0 1 1 ? 2020)").next_run(utc(2026, 3, 1)) is None


def test_cron_next_run_handles_other_timezones():
    jst = timezone(timedelta(hours=9))
    after = datetime(2026, 3, 1, 18, 0, tzinfo=jst)  # 09:00 UTC
    assert parse_schedule("cron(0 10 * * ? *)").next_run(after) == utc(2026, 3, 1, 10)


def test_discover_schedules_from_app_and_blueprints():
    app = Chalice(app_name="demo")
    bp = Blueprint(__name__)

    @app.schedule("rate(5 minutes)")
    def every_five(event):
        return "five"

    @bp.schedule(Rate(1, unit=Rate.MINUTES))
    def sweep(event):
        return "sweep"

    @app.route("/")
    def index():
        return {}

    app.register_blueprint(bp)
    jobs = {job.name: job for job in discover_schedules(app)}
    assert set(jobs) == {"every_five", "sweep"}
    assert jobs["sweep"].schedule.expression == "rate(1 minute)"
    assert jobs["every_five"].schedule.next_run(utc(2026, 1, 1)) == utc(2026, 1, 1, 0, 5)
    event = scheduled_event("demo-dev-sweep-event", utc(2026, 1, 1), "ap-northeast-1")
    assert jobs["sweep"].handler(event, None) == "sweep"


def test_discover_schedules_none_and_bad_expression():
    assert discover_schedules(Chalice(app_name="empty")) == []
    app = Chalice(app_name="bad")

    @app.schedule("cron(0 12 L * ? *)")
    def last_day(event):
        return None

    with pytest.raises(ValueError, match="last_day"):
        discover_schedules(app)


def test_scheduled_event_shape():
    event = scheduled_event("demo-dev-sweep-event", datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=9))),
                            "ap-northeast-1")
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-01-01T00:00:00Z"
    assert event["resources"] == ["arn:aws:events:ap-northeast-1:123456789012:rule/demo-dev-sweep-event"]
    assert event["detail"] == {}


def test_runner_runs_at_start_survives_failures_and_stops(caplog):
    calls: list[tuple[str, str, int]] = []
    both_ran = threading.Event()

    def ok(event, context):
        calls.append((event["detail-type"], context.function_name, context.get_remaining_time_in_millis()))
        if len(calls) >= 2:
            both_ran.set()

    def boom(event, context):
        raise RuntimeError("kaput")

    every_minute = parse_schedule("rate(1 minute)")
    jobs = [ScheduledJob("boom", every_minute, boom), ScheduledJob("ok", parse_schedule("rate(1 minute)"), ok)]
    # A clock that jumps a minute per reading makes every rate schedule due at once.
    ticks = iter(utc(2026, 1, 1) + timedelta(minutes=i) for i in range(10_000))
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            return next(ticks)

    runner = ScheduleRunner(jobs, function_prefix="demo-dev-", region="ap-northeast-1", initial_delay_s=0,
                            clock=clock)
    with caplog.at_level("INFO", logger="infra.scheduler"):
        runner.start()
        assert both_ran.wait(10)
        deadline = time.monotonic() + 10
        while runner.runs["boom"] < 2 and time.monotonic() < deadline:  # its own thread: may lag on a busy box
            time.sleep(0.01)
        runner.stop()
    assert calls[0][:2] == ("Scheduled Event", "demo-dev-ok")
    assert calls[0][2] > 0
    assert runner.runs["boom"] >= 2  # kept running after failing
    assert "schedule boom run #1 FAILED" in caplog.text
    assert "kaput" in caplog.text
    assert "schedule ok run #1 ok" in caplog.text


def test_run_once_reports_outcome():
    runner = ScheduleRunner([], function_prefix="x-", region="ap-northeast-1")
    job = ScheduledJob("j", parse_schedule("rate(1 day)"), lambda event, context: None)
    bad = ScheduledJob("b", parse_schedule("rate(1 day)"), lambda event, context: 1 / 0)
    runner.runs.update(j=0, b=0)
    assert runner.run_once(job, utc(2026, 1, 1)) is True
    assert runner.run_once(bad, utc(2026, 1, 1)) is False
