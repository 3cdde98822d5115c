"""KPI reports: daily aggregates built from the events-by-day index, read one item per day.

- ``compute_day``: one local day's facts from that day's events (one Query on
  the events-by-day index), the timelines of the tickets they touch and their
  headers; the backlog snapshot rolls forward from the previous day's.
- ``ensure_days``: the stored aggregates of closed days, computing (and
  storing, idempotent overwrite) the ones missing or not yet final. A day is
  final once it was computed ``SETTLE`` after it closed (late events such as
  a mail received before midnight and processed after it are in by then).
- ``report``: a date range = ONE Query for the stored aggregates plus the last
  available day's backlog snapshot; it never computes (it answers inside an API
  request): days without an aggregate are listed as ``pending``. Aggregates are
  built only by the job (``aggregate_recent``: the last seven closed days and
  today so far) and by ``rebuild``, which a supervisor's request queues to run
  asynchronously (``chalicelib.background``). ``report_from_events`` is the same
  report computed from every event of the range (the baseline the benchmark
  compares with).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.directory import load_directory
from chalicelib.kpi import backlog as backlog_mod
from chalicelib.kpi import report as report_mod
from chalicelib.kpi.days import day_bounds, day_of, days_between, report_timezone
from chalicelib.kpi.facts import Event, Extracted, Fact, TicketInfo, extract
from chalicelib.kpi.report import DayData
from chalicelib.services.runtime import Runtime, get_runtime
from chalicelib.settings import get_settings
from chalicelib.sla.calendar import BusinessCalendar
from chalicelib.sla.clocks import load_policy
from chalicelib.store import aggregates
from chalicelib.store.aggregates import Reads
from chalicelib.store.models import EventItem, TicketItem

log = logging.getLogger(__name__)
SETTLE = timedelta(hours=2)
LOOKBACK_DAYS = 30
MAX_RANGE_DAYS = 366
_ALWAYS_OPEN = BusinessCalendar(id="always-open", timezone="UTC", always_open=True)


@dataclass
class _Rules:
    """What fact extraction needs from ``rules/``, resolved once per computation."""

    runtime: Runtime
    default_calendar: BusinessCalendar
    department_calendars: dict[str, BusinessCalendar]

    @classmethod
    def load(cls) -> _Rules:
        runtime = get_runtime()
        slas = runtime.rules.slas
        default = runtime.calendars.get(slas[-1].calendar) if slas else next(iter(runtime.calendars.values()), None)
        departments = load_directory(get_settings().rules_dir).departments
        dept_cals = {d: runtime.calendars[c["calendar"]] for d, c in departments.items()
                     if c.get("calendar") in runtime.calendars}
        return cls(runtime, default or _ALWAYS_OPEN, dept_cals)

    def info(self, ticket: TicketItem, previous_contact_days: float | None) -> TicketInfo:
        """The replay context of a ticket: its SLA policy (as last evaluated) and calendar."""
        policy_id = (ticket.sla or {}).get("policy")
        rule = self.runtime.rules.get(policy_id) if policy_id else None
        policy = calendar = None
        if rule is not None and getattr(rule, "calendar", None) in self.runtime.calendars:
            policy = load_policy({"id": rule.id, "calendar": rule.calendar, "targets": rule.targets,
                                  "pause_statuses": list(rule.pause_statuses)})
            calendar = self.runtime.calendars[rule.calendar]
        return TicketInfo(number=int(ticket.number), channel=ticket.channel, category=ticket.category,
                          calendar=calendar or self.default_calendar, policy=policy,
                          policy_id=policy_id if policy else None, previous_contact_days=previous_contact_days,
                          department_calendars=self.department_calendars)


def to_event(item: EventItem) -> Event:
    """A stored event as the KPI core's plain ``Event``."""
    return Event(id=item.event_id, type=item.type, at=item.at, actor=item.actor or "", data=item.data or {})


def _previous_contact_days(ticket: TicketItem, reads: Reads) -> float | None:
    customer = ticket.ticket_customer or ticket.customer_id
    prev = aggregates.previous_arrival(customer, ticket.created_at, LOOKBACK_DAYS, reads) if customer else None
    return round((ticket.created_at - prev).total_seconds() / 86400, 4) if prev else None


def _replay(numbers: Iterable[int], start: datetime, end: datetime, rules: _Rules, reads: Reads
            ) -> dict[int, Extracted]:
    """Facts in ``[start, end)`` of each ticket, from its timeline before ``end``."""
    headers = aggregates.ticket_headers(numbers, reads)
    out = {}
    for number, ticket in sorted(headers.items()):
        timeline = [to_event(e) for e in aggregates.timeline_until(number, end, reads)]
        arrived = start <= ticket.created_at < end
        info = rules.info(ticket, _previous_contact_days(ticket, reads) if arrived else None)
        out[number] = extract(timeline, info, start, end)
    return out


def _rolled_back(current: dict[int, tuple[str, datetime]], changed: dict[int, tuple[str | None, datetime | None]]
                 ) -> backlog_mod.Snapshot:
    """Today's backlog with each changed ticket set to its (status, arrival) at the earlier instant."""
    snapshot = {n: (s, int(c.timestamp())) for n, (s, c) in current.items() if n not in changed}
    return backlog_mod.roll(snapshot, [(n, s, c) for n, (s, c) in changed.items()])


def backlog_at(t: datetime, now: datetime, reads: Reads) -> backlog_mod.Snapshot:
    """The backlog at instant ``t`` (<= now): today's, rolled back over the events since ``t``.

    Used only when no earlier aggregate exists to roll forward from (the first
    aggregated day); costs the current backlog plus the events since ``t``.
    """
    current = aggregates.active_tickets(reads)
    touched = {int(e.pk.split("#")[1]) for d in days_between(day_of(t), day_of(now))
               for e in aggregates.day_events(d, reads) if e.at >= t}
    changed: dict[int, tuple[str | None, datetime | None]] = {}
    for number in touched:
        timeline = aggregates.timeline_until(number, t, reads)
        status = "new"
        for e in timeline:
            if e.type == "status_changed" and (e.data or {}).get("field", "status") == "status":
                status = str((e.data or {}).get("to"))
        changed[number] = (status, timeline[0].at) if timeline else (None, None)
    return _rolled_back(current, changed)


def compute_day(day: date, now: datetime, previous: backlog_mod.Snapshot | None, reads: Reads,
                rules: _Rules | None = None) -> DayData:
    """The facts and end-of-day backlog of local ``day`` (up to ``now`` if the day is not over)."""
    rules = rules or _Rules.load()
    start, end = day_bounds(day, report_timezone())
    cut = min(end, now)
    events = [e for e in aggregates.day_events(day, reads) if e.at < cut]
    touched = sorted({int(e.pk.split("#")[1]) for e in events})
    extracted = _replay(touched, start, cut, rules, reads)
    if previous is None:
        previous = backlog_at(start, now, reads)
    snapshot = backlog_mod.roll(previous, [(n, x.status, x.created_at) for n, x in extracted.items()])
    facts = sorted((f for x in extracted.values() for f in x.facts), key=lambda f: (f.at, f.ticket))
    return DayData(day=day, facts=facts, backlog=snapshot, as_of=cut, events=len(events),
                   source="live" if cut < end else "computed")


def _from_stored(stored: aggregates.StoredDay) -> DayData:
    return DayData(day=stored.day, facts=[Fact.from_row(r) for r in stored.facts], backlog=None, as_of=stored.as_of,
                   events=stored.events, source="aggregate", backlog_total=stored.backlog_total)


def _snapshot(day: date, reads: Reads) -> backlog_mod.Snapshot | None:
    rows = aggregates.read_backlog(day, reads)
    return None if rows is None else backlog_mod.from_rows(rows)


def _final(stored: aggregates.StoredDay, now: datetime) -> bool:
    """Stored in the current format, for the whole day (not the job's "today so far"), and settled."""
    _, end = day_bounds(stored.day, report_timezone())
    return stored.format == aggregates.FORMAT and stored.as_of >= end and (
        stored.computed_at >= end + SETTLE or now < end + SETTLE)


def store_day(data: DayData, now: datetime) -> None:
    """Write a closed day's aggregate (idempotent overwrite)."""
    aggregates.put_day(data.day, [f.to_row() for f in data.facts], backlog_mod.to_rows(data.backlog or {}),
                       as_of=data.as_of, computed_at=now, events=data.events, timezone=str(report_timezone()))


def ensure_days(first: date, last: date, now: datetime, reads: Reads, *, force: bool = False) -> list[DayData]:
    """The closed days ``first``..``last`` from their aggregates (ONE Query), computing and storing
    missing or unsettled ones; the last day comes with its backlog snapshot (one more item)."""
    if last >= day_of(now, report_timezone()):
        raise ValueError("only closed days have aggregates")
    before = first - timedelta(days=1)
    stored = aggregates.read_days(before, last, reads)
    out: list[DayData] = []
    rules: _Rules | None = None
    previous: backlog_mod.Snapshot | None = None  # the snapshot of the day before, once known
    for day in days_between(first, last):
        have = stored.get(day)
        if have is not None and not force and _final(have, now):
            data = _from_stored(have)
        else:
            rules = rules or _Rules.load()
            prev_day = day - timedelta(days=1)
            if previous is None and prev_day in stored:
                previous = _snapshot(prev_day, reads)
            data = compute_day(day, now, previous, reads, rules)
            store_day(data, now)
            log.info("KPI aggregate of %s computed: %d events, %d facts", day, data.events, len(data.facts))
        out.append(data)
        previous = data.backlog
    if out and out[-1].backlog is None:
        out[-1].backlog = _snapshot(last, reads)
        if out[-1].backlog is None:  # written without its snapshot (an interrupted write): recompute
            out[-1] = compute_day(last, now, _snapshot(last - timedelta(days=1), reads), reads, rules)
            store_day(out[-1], now)
    return out


def _finish(days: list[DayData], now: datetime, group_by: str | None, repeat_days: int, reads: Reads,
            path: str) -> dict[str, Any]:
    body = report_mod.build(days, group_by=group_by, repeat_days=repeat_days)
    sources: dict[str, int] = defaultdict(int)
    for d in days:
        sources[d.source] += 1
    body.update(timezone=str(report_timezone()), generated_at=now.isoformat().replace("+00:00", "Z"),
                source={"path": path, "days": dict(sources), "items_read": reads.total, "reads": dict(reads.counts)})
    return body


def clip_range(first: date, last: date, now: datetime) -> tuple[date, date]:
    """The requested days that exist so far (``last`` clipped to today); ValueError if none."""
    today = day_of(now, report_timezone())
    last = min(last, today)
    if first > last:
        raise ValueError("the range has no day up to today")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"at most {MAX_RANGE_DAYS} days per report")
    return first, last


def _empty(first: date, last: date, now: datetime, group_by: str | None, repeat_days: int,
           reads: Reads) -> dict[str, Any]:
    """The report's shape when no day of the range has an aggregate yet: zero facts, backlog unknown."""
    shell = DayData(day=first, facts=[], backlog={}, as_of=now, source="pending")
    body = _finish([shell], now, group_by, repeat_days, reads, "aggregates")
    body.update(backlog=None, daily=[])
    return body


def report(first: date, last: date, now: datetime, *, group_by: str | None = None,
           repeat_days: int = report_mod.DEFAULT_REPEAT_DAYS) -> dict[str, Any]:
    """The KPI report of local days ``first``..``last`` from stored aggregates only, never computing.

    ONE Query for the range's aggregates plus the last available day's backlog
    snapshot. Days with no aggregate (not built yet, or an interrupted write) are
    listed in ``pending`` (ISO dates) and left out of ``daily`` and the totals;
    ``complete`` says whether there are none. Today comes from the job's "today
    so far" aggregate (``daily[].source == "partial"``, ``as_of`` its time) when
    it exists. The backlog is that of the last available day (``backlog.as_of``).
    """
    first, last = clip_range(first, last, now)
    reads = Reads()
    stored = aggregates.read_days(first, last, reads)
    tz = report_timezone()
    days: list[DayData] = []
    pending: list[date] = []
    for day in days_between(first, last):
        have = stored.get(day)
        if have is None or have.format != aggregates.FORMAT:
            pending.append(day)
            continue
        data = _from_stored(have)
        if have.as_of < day_bounds(day, tz)[1]:
            data.source = "partial"  # the job's "today so far" (or yesterday's, until the job runs again)
        days.append(data)
    for _attempt in range(2):  # a snapshot part missing (an interrupted write): that day is pending too
        if not days:
            break
        days[-1].backlog = _snapshot(days[-1].day, reads)
        if days[-1].backlog is not None:
            break
        pending.append(days.pop().day)
    if days and days[-1].backlog is None:
        pending += [d.day for d in days]
        days = []
    body = _finish(days, now, group_by, repeat_days, reads, "aggregates") if days else \
        _empty(first, last, now, group_by, repeat_days, reads)
    body.update({"from": first.isoformat(), "to": last.isoformat(),
                 "pending": sorted(d.isoformat() for d in pending), "complete": not pending})
    return body


def report_from_events(first: date, last: date, now: datetime, *, group_by: str | None = None,
                       repeat_days: int = report_mod.DEFAULT_REPEAT_DAYS) -> dict[str, Any]:
    """The same report without aggregates: every event from the range's start to now (also what the
    backlog at the start is rolled back over) and the timelines of every ticket they touch."""
    first, last = clip_range(first, last, now)
    reads, rules, tz = Reads(), _Rules.load(), report_timezone()
    start, _ = day_bounds(first, tz)
    end = min(day_bounds(last, tz)[1], now)
    touched: dict[date, set[int]] = defaultdict(set)
    for day in days_between(first, day_of(now, tz)):
        for e in aggregates.day_events(day, reads):
            if e.at < now:
                touched[day].add(int(e.pk.split("#")[1]))
    extracted = _replay(set().union(*touched.values()) if touched else set(), start, end, rules, reads)
    facts_by_day: dict[date, list[Fact]] = defaultdict(list)
    for x in extracted.values():
        for f in x.facts:
            facts_by_day[day_of(f.at, tz)].append(f)
    snapshot = _rolled_back(aggregates.active_tickets(reads), {
        n: (x.status_at(start), x.created_at if x.created_at and x.created_at < start else None)
        for n, x in extracted.items()})
    days = []
    for day in days_between(first, last):
        day_end = min(day_bounds(day, tz)[1], now)
        snapshot = backlog_mod.roll(snapshot, [(n, extracted[n].status_at(day_end), extracted[n].created_at)
                                               for n in sorted(touched[day]) if n in extracted])
        days.append(DayData(day=day, facts=sorted(facts_by_day[day], key=lambda f: (f.at, f.ticket)),
                            backlog=dict(snapshot), as_of=day_end, source="events"))
    return _finish(days, now, group_by, repeat_days, reads, "events")


def aggregate_recent(now: datetime, days: int = 7) -> list[dict[str, Any]]:
    """The scheduled job: make the last ``days`` closed days' aggregates present and final (a day the job
    missed, e.g. while it could not run, is built by a later run; final days are only read), and store
    today's so far (``as_of`` now: a report shows it as ``partial``)."""
    today = day_of(now, report_timezone())
    reads = Reads()
    done = ensure_days(today - timedelta(days=days), today - timedelta(days=1), now, reads)
    partial = compute_day(today, now, done[-1].backlog, reads)
    store_day(partial, now)
    return [{"day": d.day.isoformat(), "events": d.events, "facts": len(d.facts), "source": d.source}
            for d in [*done, partial]]


def closed_days(first: date, last: date, now: datetime) -> tuple[date, date] | None:
    """The closed days of ``first``..``last`` (the ones ``rebuild`` builds), or None if there are none."""
    first, last = clip_range(first, last, now)
    last = min(last, day_of(now, report_timezone()) - timedelta(days=1))
    return None if first > last else (first, last)


def rebuild(first: date, last: date, now: datetime) -> list[dict[str, Any]]:
    """Recompute and overwrite the aggregates of closed days ``first``..``last`` (on demand, asynchronously:
    the supervisor's request only queues it)."""
    span = closed_days(first, last, now)
    if span is None:
        return []
    done = ensure_days(span[0], span[1], now, Reads(), force=True)
    return [{"day": d.day.isoformat(), "events": d.events, "facts": len(d.facts)} for d in done]


def rebuild_job(payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The background job ``kpi_rebuild`` (``chalicelib.background``): ``{"from", "to"}`` ISO dates."""
    done = rebuild(date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"]), now)
    log.info("KPI aggregates rebuilt: %d days (%s..%s)", len(done), payload["from"], payload["to"])
    return {"rebuilt": done}
