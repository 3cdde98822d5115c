"""SLA clocks: first reply, next reply and resolution deadlines of one ticket.

``compute_metrics`` turns a policy, a business calendar and plain facts about
a ticket into one ``MetricState`` per metric that has a target. Elapsed time
is business minutes minus the business minutes spent paused, so a pause moves
the deadline later by exactly the paused business time. Pure: ``now`` is an
argument, nothing reads the clock.

Metric states (``MetricState.state``):

- ``active``: running, deadline not passed yet (``due_at`` in the future or now).
- ``breached_active``: running and the deadline has passed (``due_at`` in the past).
- ``paused``: running but the ticket is in a pause status now; ``due_at`` is None.
  ``breached`` is True if the deadline had already passed before the pause.
- ``achieved``: stopped on or before the deadline.
- ``breached``: stopped after the deadline.

``breached`` compares wall-clock instants with the deadline, so a reply at 19:00
to a target due at 18:30 (closing time) is a breach even though no business
minute passed in between; ``business_minutes_remaining`` is then 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain import Priority, Status
from chalicelib.sla.calendar import BusinessCalendar

UTC = timezone.utc
METRICS = ("first_reply", "next_reply", "resolution")
STATES = ("active", "paused", "achieved", "breached_active", "breached")
RUNNING_STATES = ("active", "paused", "breached_active")
_MINUTE = timedelta(minutes=1)
Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class SlaTargets:
    """Target minutes per metric for one priority; None means no target."""

    first_reply: int | None = None
    next_reply: int | None = None
    resolution: int | None = None

    def get(self, metric: str) -> int | None:
        """The target of ``metric`` in business minutes, or None."""
        if metric not in METRICS:
            raise ValueError(f"unknown SLA metric {metric!r}")
        return getattr(self, metric)


@dataclass(frozen=True)
class SlaPolicy:
    """Which calendar counts, the targets per priority, and which statuses pause."""

    id: str
    calendar_id: str
    targets: Mapping[Priority, SlaTargets]
    pause_statuses: frozenset[Status] = frozenset({Status.PENDING})

    def __post_init__(self) -> None:
        # Accept plain strings ("urgent", "pending") as well as the enums.
        object.__setattr__(self, "targets", {Priority(k): v for k, v in self.targets.items()})
        object.__setattr__(self, "pause_statuses", frozenset(Status(s) for s in self.pause_statuses))

    def target(self, priority: Priority | str, metric: str) -> int | None:
        """Target minutes of ``metric`` for ``priority``, or None when absent."""
        targets = self.targets.get(Priority(priority))
        return None if targets is None else targets.get(metric)


@dataclass(frozen=True)
class TicketFacts:
    """What the clocks need to know about a ticket (all datetimes aware).

    ``customer_messages_after_last_reply_since``: time of the oldest customer
    message not yet answered by an agent, after the first reply (None if none);
    it starts the next_reply clock. ``pauses``: intervals spent in a pause
    status, end None while still paused. The current ``status`` decides whether
    the ticket is paused *now*; ``pauses`` gives the history.
    """

    created_at: datetime
    priority: Priority
    status: Status
    first_replied_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    solved_at: datetime | None = None
    customer_messages_after_last_reply_since: datetime | None = None
    pauses: Sequence[Pause] = field(default_factory=tuple)


@dataclass(frozen=True)
class MetricState:
    """One deadline of one ticket as seen at ``now``; see the module doc for states."""

    metric: str
    instance: str
    started_at: datetime
    target_minutes: int
    due_at: datetime | None
    stopped_at: datetime | None
    state: str
    breached: bool
    business_minutes_remaining: float
    elapsed_business_minutes: float


def load_policy(doc: Mapping[str, Any]) -> SlaPolicy:
    """Build a policy from JSON: {"id", "calendar", "targets": {prio: {metric: min}},
    "pause_statuses"}; ValueError names the bad field."""
    if not isinstance(doc, Mapping):
        raise ValueError("policy: must be a JSON object")
    for key in ("id", "calendar"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ValueError(f"{key}: must be a non-empty string")
    raw_targets = doc.get("targets")
    if not isinstance(raw_targets, Mapping):
        raise ValueError("targets: must be an object keyed by priority")
    targets = {}
    for prio, per_metric in raw_targets.items():
        try:
            priority = Priority(prio)
        except ValueError:
            raise ValueError(f"targets.{prio}: unknown priority") from None
        if not isinstance(per_metric, Mapping):
            raise ValueError(f"targets.{prio}: must be an object keyed by metric")
        for metric, minutes in per_metric.items():
            if metric not in METRICS:
                raise ValueError(f"targets.{prio}.{metric}: unknown metric")
            if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
                raise ValueError(f"targets.{prio}.{metric}: must be minutes >= 0")
        targets[priority] = SlaTargets(**dict(per_metric))
    statuses = doc.get("pause_statuses", ["pending"])
    try:
        pause_statuses = frozenset(Status(s) for s in statuses)
    except (TypeError, ValueError):
        raise ValueError(f"pause_statuses: unknown status in {statuses!r}") from None
    return SlaPolicy(id=doc["id"], calendar_id=doc["calendar"], targets=targets,
                     pause_statuses=pause_statuses)


def pauses_from_history(
    changes: Iterable[tuple[datetime, Status | str]], pause_statuses: Iterable[Status | str]
) -> list[Pause]:
    """Pause intervals from (time, new status) changes in time order.

    Include SOLVED in ``pause_statuses`` if time spent solved before a reopen
    should not count against resolution.
    """
    pausing = {Status(s) for s in pause_statuses}
    out: list[Pause] = []
    since: datetime | None = None
    for at, status in changes:
        if Status(status) in pausing:
            if since is None:
                since = at
        elif since is not None:
            out.append((since, at))
            since = None
    if since is not None:
        out.append((since, None))
    return out


def compute_metrics(
    policy: SlaPolicy, calendar: BusinessCalendar, facts: TicketFacts, now: datetime
) -> dict[str, MetricState]:
    """The SLA metrics of a ticket at ``now``, keyed by metric name.

    first_reply runs from creation to the first agent reply; next_reply from
    the oldest unanswered customer message (after the first reply) to the next
    agent reply; resolution from creation to solved. Reply clocks also stop
    when the ticket is solved. Metrics without a target are absent.
    """
    now = _utc(now, "now")
    created = _utc(facts.created_at, "created_at")
    first = _opt(facts.first_replied_at, "first_replied_at")
    last_reply = _opt(facts.last_agent_reply_at, "last_agent_reply_at")
    solved = _opt(facts.solved_at, "solved_at")
    waiting = _opt(facts.customer_messages_after_last_reply_since,
                   "customer_messages_after_last_reply_since")
    paused_now = Status(facts.status) in policy.pause_statuses
    pauses = [(_utc(s, "pauses"), _opt(e, "pauses")) for s, e in facts.pauses]

    spans: dict[str, tuple[datetime, datetime | None]] = {
        "first_reply": (created, _earliest(first, solved)),
        "resolution": (created, solved),
    }
    if waiting is not None and first is not None and waiting >= first and (
        solved is None or solved >= waiting  # a message left on a solved ticket runs no clock
    ):
        answered = last_reply if last_reply is not None and last_reply >= waiting else None
        spans["next_reply"] = (waiting, _earliest(answered, solved))

    out: dict[str, MetricState] = {}
    for metric in METRICS:
        target = policy.target(facts.priority, metric)
        if target is None or metric not in spans:
            continue
        start, stop = spans[metric]
        out[metric] = _metric(metric, target, start, stop, pauses, paused_now, calendar, now)
    return out


def next_deadline(
    metrics: Mapping[str, MetricState] | Iterable[MetricState], include_breached: bool = False
) -> MetricState | None:
    """The active metric due first (optionally also overdue running ones), or None."""
    states = metrics.values() if isinstance(metrics, Mapping) else metrics
    wanted = ("active", "breached_active") if include_breached else ("active",)
    best: MetricState | None = None
    for m in states:
        if m.state in wanted and m.due_at is not None:
            if best is None or best.due_at is None or m.due_at < best.due_at:
                best = m
    return best


def to_dict(metric: MetricState) -> dict[str, Any]:
    """A JSON-ready dict: ISO 8601 UTC 'Z' strings, minutes rounded to 0.001."""
    return {
        "metric": metric.metric,
        "instance": metric.instance,
        "state": metric.state,
        "breached": metric.breached,
        "started_at": iso_z(metric.started_at),
        "due_at": iso_z(metric.due_at),
        "stopped_at": iso_z(metric.stopped_at),
        "target_minutes": metric.target_minutes,
        "business_minutes_remaining": round(metric.business_minutes_remaining, 3),
        "elapsed_business_minutes": round(metric.elapsed_business_minutes, 3),
    }


def iso_z(t: datetime | None) -> str | None:
    """ISO 8601 in UTC with a 'Z' suffix (None stays None)."""
    if t is None:
        return None
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- internals ---------------------------------------------------------------


def _metric(
    metric: str, target: int, start: datetime, stop: datetime | None,
    pauses: list[Pause], paused_now: bool, calendar: BusinessCalendar, now: datetime,
) -> MetricState:
    end = stop if stop is not None else now
    clipped = _clip_pauses(pauses, start, stop, now, paused_now and stop is None)
    elapsed = _unpaused_minutes(calendar, start, end, clipped)
    due = _deadline(calendar, start, clipped, target)
    breached = due is not None and end > due
    is_paused = stop is None and bool(clipped) and clipped[-1][1] is None
    if stop is not None:
        state = "breached" if breached else "achieved"
    elif is_paused:
        state = "paused"
    else:
        state = "breached_active" if breached else "active"
    return MetricState(
        metric=metric,
        instance=f"{metric}:{iso_z(start)}",
        started_at=start,
        target_minutes=target,
        due_at=due if stop is None and not is_paused else None,
        stopped_at=stop,
        state=state,
        breached=breached,
        business_minutes_remaining=target - elapsed,
        elapsed_business_minutes=elapsed,
    )


def _clip_pauses(
    pauses: list[Pause], start: datetime, stop: datetime | None, now: datetime, paused_now: bool
) -> list[Pause]:
    """Pauses inside [start, stop or now], sorted and merged.

    Stopped clocks get closed pauses only. Running clocks keep one open pause
    (end None) at the end if and only if the ticket is paused now.
    """
    limit = stop if stop is not None else now
    cut: list[tuple[datetime, datetime]] = []
    open_from: datetime | None = None
    for ps, pe in pauses:
        if (pe is not None and pe <= start) or ps > limit or (stop is not None and ps >= stop):
            continue
        ps = max(ps, start)
        if pe is None or pe > limit:
            if stop is None and paused_now:
                open_from = ps if open_from is None else min(open_from, ps)
                continue
            pe = limit
        if pe > ps:
            cut.append((ps, pe))
    if stop is None and paused_now and open_from is None:
        open_from = max(now, start)  # paused now but no history: pause from now on
    merged: list[Pause] = []
    for ps, pe in sorted(cut):
        if open_from is not None and pe >= open_from:
            open_from = min(open_from, ps)
            continue
        last = merged[-1] if merged else None
        if last is not None and last[1] is not None and ps <= last[1]:
            merged[-1] = (last[0], max(last[1], pe))
        else:
            merged.append((ps, pe))
    if open_from is not None:
        while merged and merged[-1][1] is not None and merged[-1][1] >= open_from:
            open_from = min(open_from, merged.pop()[0])
        merged.append((open_from, None))
    return merged


def _unpaused_minutes(calendar: BusinessCalendar, start: datetime, end: datetime, pauses: list[Pause]) -> float:
    """Business minutes in [start, end] outside the (sorted, merged) pauses; constant in the span."""
    if end <= start:
        return 0.0
    total = calendar.business_minutes_between(start, end)
    for ps, pe in pauses:
        lo, hi = max(ps, start), min(pe or end, end)
        if hi > lo:
            total -= calendar.business_minutes_between(lo, hi)
    return max(total, 0.0)


def _deadline(
    calendar: BusinessCalendar, start: datetime, pauses: list[Pause], target: int
) -> datetime | None:
    """When unpaused business time since ``start`` reaches ``target``.

    None if an open pause comes first. With target 0: the first unpaused
    business moment at or after ``start``. Work is bounded by the pauses and
    the target, not by the ticket's age.
    """
    remaining = float(target)
    cursor = start
    for ps, pe in pauses:
        if ps > cursor:
            seg = calendar.business_minutes_between(cursor, ps)
            if (remaining > 0 and remaining <= seg) or (remaining == 0 and seg > 0):
                return calendar.add_business_minutes(cursor, remaining)
            remaining -= seg
        if pe is None:
            return None
        cursor = max(cursor, pe)
    return calendar.add_business_minutes(cursor, remaining)


def _ends_by(pause: Pause, t: datetime) -> bool:
    end = pause[1]
    return end is not None and end <= t


def _earliest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _utc(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {t!r}")
    return t.astimezone(UTC)


def _opt(t: datetime | None, name: str) -> datetime | None:
    return None if t is None else _utc(t, name)
