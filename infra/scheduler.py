"""Run a Chalice app's scheduled functions locally (``chalice local`` never does).

Pure parts (no AWS, no Chalice import): parsing EventBridge schedule expressions
(``rate(...)`` fully, ``cron(...)`` without the ``L``/``W``/``#`` extensions),
next-run computation in UTC, discovery of the scheduled handlers of an app
object, and the scheduled-event dict. ``ScheduleRunner`` calls each handler at
its schedule in its own thread, once shortly after start, and logs every run;
a failing run is logged and never stops the scheduler.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

LOG = logging.getLogger("infra.scheduler")
LOCAL_ACCOUNT_ID = "123456789012"

_RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON_RE = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}
# (name, lowest, highest, names) for the six EventBridge cron fields.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}), ("hours", 0, 23, {}), ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS), ("day-of-week", 1, 7, _DAYS), ("year", 1970, 2199, {}),
)


class Schedule(Protocol):
    """A parsed schedule expression."""

    expression: str

    def next_run(self, after: datetime) -> datetime | None:
        """The first run time strictly after ``after`` (aware UTC), or None if it never runs again."""
        ...


@dataclass(frozen=True)
class RateSchedule:
    """``rate(N unit)``: every ``interval``, counted from the previous run."""

    expression: str
    interval: timedelta

    def next_run(self, after: datetime) -> datetime | None:
        """``after`` plus the interval."""
        return after + self.interval


@dataclass(frozen=True)
class CronSchedule:
    """``cron(min hour dom month dow year)`` evaluated in UTC, minute resolution."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # EventBridge numbering: 1 = SUN ... 7 = SAT
    years: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    def _day_matches(self, day: date) -> bool:
        dom = day.day in self.days
        dow = day.isoweekday() % 7 + 1 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow  # classic cron: either field may match
        return dom and dow

    def next_run(self, after: datetime) -> datetime | None:
        """The first matching minute strictly after ``after``."""
        start = (after.astimezone(timezone.utc) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        day = start.date()
        while day.year <= max(self.years):
            if day.year in self.years and day.month in self.months and self._day_matches(day):
                first_day = day == start.date()
                for hour in sorted(self.hours):
                    if first_day and hour < start.hour:
                        continue
                    for minute in sorted(self.minutes):
                        if first_day and hour == start.hour and minute < start.minute:
                            continue
                        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc)
            day += timedelta(days=1)
        return None


def _parse_value(text: str, names: dict[str, int]) -> int:
    key = text.upper()
    if key in names:
        return names[key]
    if not text.isdigit():
        hint = " (L, W and # are not supported locally)" if any(c in key for c in "LW#") else ""
        raise ValueError(f"bad value {text!r}{hint}")
    return int(text)


def _parse_field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    """One cron field: ``*``, ``?``, ``a``, ``a-b``, ``a/s``, ``*/s``, ``a-b/s`` and comma lists."""
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"{name}: bad step in {part!r}")
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _parse_value(a, names), _parse_value(b, names)
        else:
            first = _parse_value(base, names)
            last = high if step else first
        if not (low <= first <= high and low <= last <= high):
            raise ValueError(f"{name}: {part!r} is outside {low}-{high}")
        span = range(first, last + 1) if first <= last else [*range(first, high + 1), *range(low, last + 1)]
        values.update(list(span)[:: step or 1])
    return frozenset(values)


def parse_schedule(expression: Any) -> Schedule:
    """Parse a Chalice ``Rate``/``Cron`` object or an EventBridge expression string.

    Raises ValueError for anything that cannot be run locally.
    """
    text = (expression.to_string() if hasattr(expression, "to_string") else str(expression)).strip()
    rate = _RATE_RE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s") + "s"
        if value <= 0:
            raise ValueError(f"{text}: the rate must be positive")
        return RateSchedule(text, timedelta(**{unit: value}))
    cron = _CRON_RE.match(text)
    if not cron:
        raise ValueError(f"{text!r} is neither rate(...) nor cron(...)")
    parts = cron.group(1).split()
    if len(parts) != 6:
        raise ValueError(f"{text}: cron needs 6 fields (minutes hours day-of-month month day-of-week year)")
    try:
        sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
    except ValueError as exc:
        raise ValueError(f"{text}: {exc}") from exc
    return CronSchedule(text, *sets, days_restricted=parts[2] not in ("*", "?"),
                        weekdays_restricted=parts[4] not in ("*", "?"))


@dataclass(frozen=True)
class ScheduledJob:
    """One scheduled function of the app."""

    name: str
    schedule: Schedule
    handler: Callable[[dict[str, Any], Any], Any]


def discover_schedules(app: Any) -> list[ScheduledJob]:
    """Every scheduled function registered on a Chalice app (including from blueprints).

    Raises ValueError naming the function whose expression cannot be run locally.
    """
    jobs = []
    for source in getattr(app, "event_sources", []):
        expression = getattr(source, "schedule_expression", None)
        if type(source).__name__ != "ScheduledEventConfig" or expression is None:
            continue
        try:
            schedule = parse_schedule(expression)
        except ValueError as exc:
            raise ValueError(f"scheduled function {source.name}: {exc}") from exc
        jobs.append(ScheduledJob(source.name, schedule, app.handler_map[source.name]))
    return jobs


def scheduled_event(rule_name: str, when: datetime, region: str) -> dict[str, Any]:
    """An EventBridge/CloudWatch Events "Scheduled Event", as Lambda receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


@dataclass
class FakeLambdaContext:
    """The attributes and method of a Lambda context that handlers and middleware use."""

    function_name: str
    region: str
    timeout_s: float = 900.0
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (fake) timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class ScheduleRunner:
    """Calls every job at its schedule, each in its own daemon thread, until ``stop()``.

    Time comes from ``clock`` (the local stack passes ``chalicelib.clock.now``, which may be a
    moved or sped-up clock): each thread polls it at least every ``poll_s`` real seconds, so a
    jump of the clock makes the due jobs run within ``poll_s``. ``run_due()`` runs the due jobs at
    once (after a jump). A job never runs twice at the same time."""

    def __init__(self, jobs: list[ScheduledJob], *, function_prefix: str, region: str,
                 initial_delay_s: float = 1.0, timeout_s: float = 900.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), speed: float = 1.0,
                 poll_s: float = 0.5):
        self.jobs = jobs
        self.function_prefix = function_prefix
        self.region = region
        self.initial_delay_s = initial_delay_s
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._clock = clock
        self._speed = speed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._locks = {job.name: threading.Lock() for job in jobs}
        self._due: dict[str, datetime | None] = {}
        self.runs: dict[str, int] = {job.name: 0 for job in jobs}

    def run_once(self, job: ScheduledJob, when: datetime) -> bool:
        """Invoke the job once as Lambda would; log the outcome; never raise. True if it succeeded."""
        self.runs[job.name] = self.runs.get(job.name, 0) + 1
        number, started = self.runs[job.name], time.perf_counter()
        function_name = f"{self.function_prefix}{job.name}"
        event = scheduled_event(f"{function_name}-event", when, self.region)
        try:
            job.handler(event, FakeLambdaContext(function_name, self.region, self.timeout_s))
        except Exception:
            LOG.exception("schedule %s run #%d FAILED after %.0f ms", job.name, number,
                          (time.perf_counter() - started) * 1000)
            return False
        LOG.info("schedule %s run #%d ok in %.0f ms", job.name, number, (time.perf_counter() - started) * 1000)
        return True

    def _first_due(self) -> datetime:
        return self._clock() + timedelta(seconds=self.initial_delay_s * self._speed)

    def _run_if_due(self, job: ScheduledJob) -> dict[str, Any] | None:
        """Under the job's lock: run it if its time has come, schedule the next run. What ran, or None."""
        with self._locks[job.name]:
            due = self._due.setdefault(job.name, self._first_due())
            now = self._clock()
            if due is None or now < due:
                return None
            ok = self.run_once(job, due)
            after = self._clock()
            upcoming = job.schedule.next_run(due)
            if upcoming is not None and upcoming <= after:  # overran or the clock jumped: skip missed runs
                upcoming = job.schedule.next_run(after)
            if upcoming is None:
                LOG.info("schedule %s (%s) has no further runs", job.name, job.schedule.expression)
            self._due[job.name] = upcoming
            return {"job": job.name, "at": due.isoformat(), "ok": ok}

    def run_due(self) -> list[dict[str, Any]]:
        """Run every job whose time has come (e.g. right after the clock jumped), in order. What ran."""
        return [ran for job in self.jobs if (ran := self._run_if_due(job)) is not None]

    def next_runs(self) -> dict[str, str | None]:
        """Each job's next run time (ISO, simulated clock), None when it never runs again."""
        return {job.name: (due.isoformat() if (due := self._due.get(job.name)) else None) for job in self.jobs}

    def _loop(self, job: ScheduledJob) -> None:
        while not self._stop.is_set():
            self._run_if_due(job)
            due = self._due.get(job.name)
            if due is None and job.name in self._due:
                return
            left = (due - self._clock()).total_seconds() / self._speed if due else self.poll_s
            self._stop.wait(min(self.poll_s, max(0.0, left)))

    def start(self) -> None:
        """Start one thread per job; the first run is ``initial_delay_s`` (real seconds) from now."""
        for job in self.jobs:
            with self._locks[job.name]:
                self._due.setdefault(job.name, self._first_due())
            thread = threading.Thread(target=self._loop, args=(job,), name=f"schedule-{job.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop scheduling; wait (bounded) for runs in progress to finish. True if all threads ended."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)
