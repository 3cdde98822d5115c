"""Replay one ticket's timeline into KPI facts. PURE.

A *fact* is one measured occurrence: a ticket arrived, an agent replied for
the first time (with the minutes it took, calendar and business), a ticket was
solved or reopened, an SLA deadline instance was decided (met or breached), an
escalation was answered or returned. Facts are what the daily aggregates keep:
far fewer than events, and enough to compute every KPI of any date range and
any grouping without reading events again.

``extract`` replays the whole timeline (so it knows, say, whether a reply is
the first one) and returns the facts of the events inside ``[start, end)``,
plus the ticket's status at ``end`` for the backlog. SLA decisions use the
service's own clocks (``sla.clocks.compute_metrics``) on the replayed facts,
so a KPI and the live SLA label never disagree about a deadline. Each
deadline instance is decided once: breached when its ``sla_breached`` event is
recorded (or, if the sweep never recorded it, when it is stopped late), met
when it is stopped on time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from chalicelib.sla.calendar import BusinessCalendar
from chalicelib.sla.clocks import SlaPolicy, TicketFacts, compute_metrics, pauses_from_history

ACTIVE = frozenset({"new", "open", "pending", "on-hold"})
DONE = frozenset({"solved", "closed"})
KINDS = ("created", "message_in", "reply", "first_response", "solved", "reopened", "sla", "escalated",
         "escalation_closed")
_ROW = ("kind", "ticket", "at", "agent", "department", "channel", "category", "minutes", "business_minutes",
        "policy", "metric", "outcome", "previous_contact_days")
UTC = timezone.utc


@dataclass(frozen=True)
class Event:
    """One timeline event as the KPI core needs it."""

    id: str
    type: str
    at: datetime
    actor: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketInfo:
    """What the replay needs besides the events: immutable dimensions and the clock rules.

    ``calendar`` measures business time (the ticket's SLA policy calendar);
    ``policy`` is None when no SLA applies. ``previous_contact_days``: days
    since the same customer's previous ticket arrived (None: none in the
    look-back), filled in only for tickets that arrive in the window.
    """

    number: int
    channel: str | None
    category: str | None
    calendar: BusinessCalendar
    policy: SlaPolicy | None = None
    policy_id: str | None = None
    previous_contact_days: float | None = None
    department_calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)


@dataclass(frozen=True)
class Fact:
    """One measured occurrence; see the module docstring and ``README`` for each kind.

    ``department`` is the ticket's department at the time, except for
    ``escalated``/``escalation_closed`` where it is the department escalated to.
    Minutes are rounded to 0.01.
    """

    kind: str
    ticket: int
    at: datetime
    agent: str | None = None
    department: str | None = None
    channel: str | None = None
    category: str | None = None
    minutes: float | None = None
    business_minutes: float | None = None
    policy: str | None = None
    metric: str | None = None
    outcome: str | None = None
    previous_contact_days: float | None = None

    def to_row(self) -> list[Any]:
        """A compact JSON row (fixed column order, trailing Nones dropped)."""
        values = asdict(self)
        values["at"] = int(self.at.timestamp())
        row = [values[name] for name in _ROW]
        while row and row[-1] is None:
            row.pop()
        return row

    @classmethod
    def from_row(cls, row: list[Any]) -> Fact:
        """The fact a ``to_row`` row holds."""
        values = dict(zip(_ROW, [*row, *[None] * (len(_ROW) - len(row))], strict=True))
        values["at"] = datetime.fromtimestamp(int(values["at"]), UTC)
        return cls(**values)


@dataclass
class Extracted:
    """Facts inside the window, the ticket's status and arrival at the window's end (None if not
    yet), and its status history ``[(since, status), ...]`` up to the end."""

    facts: list[Fact]
    status: str | None
    created_at: datetime | None
    status_log: list[tuple[datetime, str]] = field(default_factory=list)

    def status_at(self, t: datetime) -> str | None:
        """The status just before instant ``t`` (None if the ticket had not arrived)."""
        current = None
        for since, status in self.status_log:
            if since >= t:
                break
            current = status
        return current


def _minutes(a: datetime, b: datetime) -> float:
    return round((b - a).total_seconds() / 60, 2)


class _Replay:
    """The ticket's state as its events are applied in order."""

    def __init__(self, info: TicketInfo, start: datetime, end: datetime) -> None:
        self.info, self.start, self.end = info, start, end
        self.facts: list[Fact] = []
        self.created_at: datetime | None = None
        self.created_inside = False
        self.status, self.priority = "new", "normal"
        self.assignee: str | None = None
        self.department: str | None = None
        self.status_log: list[tuple[datetime, str]] = []
        self.first_reply: datetime | None = None
        self.last_reply: datetime | None = None
        self.awaiting: datetime | None = None
        self.solved_at: datetime | None = None
        self.escalation: tuple[str, datetime] | None = None
        self.decided: set[str] = set()

    # -- helpers -------------------------------------------------------------------------------

    def fact(self, kind: str, at: datetime, **values: Any) -> None:
        if not self.start <= at < self.end:
            return
        dims = {"agent": self.assignee, "department": self.department, "channel": self.info.channel,
                "category": self.info.category}
        self.facts.append(Fact(kind, self.info.number, at, **{**dims, **values}))

    def business(self, a: datetime, b: datetime, calendar: BusinessCalendar | None = None) -> float:
        return round((calendar or self.info.calendar).business_minutes_between(a, b), 2)

    def decide_stopped(self, at: datetime, awaiting: datetime | None, agent: str | None) -> None:
        """Decide every deadline instance the event at ``at`` stopped (met, or breached if late)."""
        policy = self.info.policy
        if policy is None or self.created_at is None:
            return
        facts = TicketFacts(
            created_at=self.created_at, priority=self.priority, status=self.status,
            first_replied_at=self.first_reply, last_agent_reply_at=self.last_reply,
            solved_at=self.solved_at if self.status in DONE else None,
            customer_messages_after_last_reply_since=awaiting,
            pauses=pauses_from_history(self.status_log, policy.pause_statuses),
        )
        for metric in compute_metrics(policy, self.info.calendar, facts, at).values():
            if metric.state in ("achieved", "breached") and metric.instance not in self.decided:
                self.decided.add(metric.instance)
                outcome = "met" if metric.state == "achieved" else "breached"
                self.fact("sla", at, agent=agent or self.assignee, policy=self.info.policy_id,
                          metric=metric.metric, outcome=outcome)

    # -- events ----------------------------------------------------------------------------------

    def apply(self, ev: Event) -> None:
        data = ev.data or {}
        if self.created_at is None:
            self.created_at = ev.at
            self.status_log = [(ev.at, "new")]
            self.created_inside = self.start <= ev.at < self.end
        handler = getattr(self, f"on_{ev.type}", None)
        if handler is not None:
            handler(ev, data)

    def on_message_in(self, ev: Event, data: Mapping[str, Any]) -> None:
        if self.first_reply is not None and self.awaiting is None:
            self.awaiting = ev.at
        self.fact("message_in", ev.at, channel=data.get("channel") or self.info.channel)

    def on_message_out(self, ev: Event, data: Mapping[str, Any]) -> None:
        agent = data.get("agent")
        if not agent or data.get("auto_reply") or data.get("state") in ("failed", "sending"):
            return
        first = self.first_reply is None
        awaiting = self.awaiting
        self.first_reply = self.first_reply or ev.at
        self.last_reply = ev.at
        self.awaiting = None
        self.decide_stopped(ev.at, awaiting, agent)
        self.fact("reply", ev.at, agent=agent)
        if first and self.created_at is not None:
            self.fact("first_response", ev.at, agent=agent, minutes=_minutes(self.created_at, ev.at),
                      business_minutes=self.business(self.created_at, ev.at))

    def on_status_changed(self, ev: Event, data: Mapping[str, Any]) -> None:
        if data.get("field", "status") != "status":
            return
        before, after = self.status, str(data.get("to"))
        self.status = after
        self.status_log.append((ev.at, after))
        actor = ev.actor[len("agent:"):] if ev.actor.startswith("agent:") else None
        if after in DONE and before not in DONE:
            self.solved_at = ev.at
            self.decide_stopped(ev.at, self.awaiting, actor)
            if self.created_at is not None:
                self.fact("solved", ev.at, agent=actor or self.assignee, minutes=_minutes(self.created_at, ev.at),
                          business_minutes=self.business(self.created_at, ev.at))
        elif before in DONE and after in ACTIVE:
            self.solved_at = None
            self.fact("reopened", ev.at)

    def on_priority_changed(self, ev: Event, data: Mapping[str, Any]) -> None:
        self.priority = str(data.get("to") or self.priority)

    def on_assigned(self, ev: Event, data: Mapping[str, Any]) -> None:
        if data.get("field") == "assignee":
            self.assignee = data.get("to")
        elif data.get("field") == "department":
            self.department = data.get("to")

    def on_sla_breached(self, ev: Event, data: Mapping[str, Any]) -> None:
        instance = str(data.get("instance") or f"{data.get('metric')}:{ev.id}")
        if instance in self.decided:
            return
        self.decided.add(instance)
        self.fact("sla", ev.at, policy=data.get("policy") or self.info.policy_id, metric=data.get("metric"),
                  outcome="breached")

    def on_escalated(self, ev: Event, data: Mapping[str, Any]) -> None:
        department = str(data.get("department") or "")
        self.escalation = (department, ev.at)  # a re-escalation replaces an open one undecided
        self.fact("escalated", ev.at, department=department)

    def _close_escalation(self, at: datetime, outcome: str) -> None:
        if self.escalation is None:
            return
        department, since = self.escalation
        self.escalation = None
        calendar = self.info.department_calendars.get(department)
        self.fact("escalation_closed", at, department=department, outcome=outcome, minutes=_minutes(since, at),
                  business_minutes=self.business(since, at, calendar))

    def on_escalation_answered(self, ev: Event, data: Mapping[str, Any]) -> None:
        self._close_escalation(ev.at, "answered")

    def on_escalation_ended(self, ev: Event, data: Mapping[str, Any]) -> None:
        self._close_escalation(ev.at, "ended")  # solved, closed or cancelled: neither answered nor returned

    def on_rule_fired(self, ev: Event, data: Mapping[str, Any]) -> None:
        if any((a or {}).get("type") == "return_to_queue" for a in data.get("actions") or []):
            self._close_escalation(ev.at, "returned")

    def finish(self) -> Extracted:
        if self.created_inside and self.created_at is not None:
            self.fact("created", self.created_at, previous_contact_days=self.info.previous_contact_days)
        self.facts.sort(key=lambda f: f.at)
        return Extracted(self.facts, self.status if self.created_at is not None else None, self.created_at,
                         list(self.status_log))


def extract(events: Iterable[Event], info: TicketInfo, start: datetime, end: datetime) -> Extracted:
    """Facts of one ticket's events in ``[start, end)``, replaying its whole timeline before ``end``.

    ``events`` must be the ticket's timeline in order (oldest first); events at
    or after ``end`` are ignored. A ``created`` fact takes the agent and
    department the ticket had at the end of the window.
    """
    replay = _Replay(info, start, end)
    for ev in events:
        if ev.at >= end:
            break
        replay.apply(ev)
    return replay.finish()
