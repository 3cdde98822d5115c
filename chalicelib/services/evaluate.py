"""Evaluate rules and SLA clocks for one ticket change. Pure: plain dicts in, a Plan out.

``fields`` is the ticket header as a dict (the pynamodb attribute names);
evaluation never touches the store, so the same code runs at ingest, on an
agent's change and in the sweep, and is unit-tested without AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain import Status
from chalicelib.engine import SlaRule, due_automations, evaluate_triggers, next_automation_time
from chalicelib.engine.evaluate import Shift
from chalicelib.services.actions import Plan, apply_actions
from chalicelib.services.runtime import Runtime
from chalicelib.sla.calendar import BusinessCalendar
from chalicelib.sla.clocks import (
    METRICS,
    MetricState,
    SlaPolicy,
    TicketFacts,
    compute_metrics,
    iso_z,
    load_policy,
    pauses_from_history,
    to_dict,
)

BREACH_PREFIX = "sla-breach"
CLOSED = (Status.SOLVED.value, Status.CLOSED.value)


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def status_log(fields: Mapping[str, Any]) -> list[tuple[datetime, str]]:
    """The ticket's (time, status) history kept in ``sla.status_log``."""
    raw = (fields.get("sla") or {}).get("status_log") or [[iso_z(fields["created_at"]), Status.NEW.value]]
    return [(_dt(at), status) for at, status in raw]  # type: ignore[misc]


@functools.lru_cache(maxsize=256)
def policy_of(rule: SlaRule) -> SlaPolicy:
    """The clocks' policy of an SLA rule (rules are immutable: built once per rule)."""
    return load_policy({"id": rule.id, "calendar": rule.calendar, "targets": rule.targets,
                        "pause_statuses": list(rule.pause_statuses)})


def metrics_with(fields: Mapping[str, Any], rule: SlaRule, calendars: Mapping[str, BusinessCalendar],
                 now: datetime) -> dict[str, MetricState]:
    """The ticket's metric states at ``now`` under the SLA policy ``rule``."""
    policy = policy_of(rule)
    status = fields["status"]
    facts = TicketFacts(
        created_at=fields["created_at"],
        priority=fields["priority"],
        status=status,
        first_replied_at=fields.get("first_replied_at"),
        last_agent_reply_at=fields.get("last_agent_reply_at"),
        solved_at=fields.get("solved_at") if status in CLOSED else None,
        customer_messages_after_last_reply_since=fields.get("awaiting_reply_since"),
        pauses=pauses_from_history(status_log(fields), policy.pause_statuses),
    )
    return compute_metrics(policy, calendars[rule.calendar], facts, now)


def metrics_for(fields: Mapping[str, Any], runtime: Runtime, doc: Mapping[str, Any], now: datetime
                ) -> tuple[str | None, dict[str, MetricState]]:
    """The SLA policy that applies (first match by position) and the metric states at ``now``."""
    rule = runtime.rules.select_sla(doc)
    if rule is None:
        return None, {}
    return rule.id, metrics_with(fields, rule, runtime.calendars, now)


def clock_deadlines(fields: Mapping[str, Any], metrics: Mapping[str, MetricState]
                    ) -> dict[str, tuple[datetime | None, str]]:
    """Deadline and instance of every clock automations can hang on."""
    out: dict[str, tuple[datetime | None, str]] = {}
    for name, m in metrics.items():
        running = m.state in ("active", "breached_active")
        out[name] = (m.due_at if running else None, m.instance)
    escalation = fields.get("escalation") or {}
    if escalation.get("state") == "open" and escalation.get("due_at"):
        out["escalation"] = (_dt(escalation["due_at"]), f"escalation:{escalation.get('instance', '')}")
    log = status_log(fields)
    if fields["status"] == Status.PENDING.value and log and log[-1][1] == Status.PENDING.value:
        out["pending"] = (log[-1][0], f"pending:{iso_z(log[-1][0])}")
    return out


def clock_calendar(fields: Mapping[str, Any], runtime: Runtime, policy_id: str | None, clock: str
                   ) -> BusinessCalendar | None:
    """The business calendar a clock counts on: the escalation's own (the department's, recorded
    when it was made), else the ticket's SLA policy's. None when there is neither."""
    if clock == "escalation":
        cal_id = (fields.get("escalation") or {}).get("calendar")
        if cal_id in runtime.calendars:
            return runtime.calendars[cal_id]
    rule = runtime.rules.get(policy_id) if policy_id else None
    cal_id = getattr(rule, "calendar", None)
    return runtime.calendars.get(cal_id) if cal_id else None


def business_shift(fields: Mapping[str, Any], runtime: Runtime, policy_id: str | None) -> Shift:
    """``shift(clock, deadline, minutes)`` for ``offset_business_minutes``: business time on the
    clock's calendar (wall-clock minutes when the ticket has no calendar)."""

    def shift(clock: str, deadline: datetime, minutes: int) -> datetime:
        calendar = clock_calendar(fields, runtime, policy_id, clock)
        if calendar is None:
            return deadline + timedelta(minutes=minutes)
        return calendar.offset(deadline, minutes)

    return shift


def breach_key(ticket_id: int, metric: MetricState) -> str:
    """Dedupe key of the built-in breach record of one deadline instance."""
    return f"{BREACH_PREFIX}#{ticket_id}#{metric.instance}"


def run_triggers(plan: Plan, runtime: Runtime, doc: dict[str, Any], event_types: Iterable[str],
                 event_id: str) -> None:
    """Apply every matching trigger for each event type, in rule order.

    Effects are keyed by rule, ticket and the event that caused them, so a
    retried event never notifies twice.
    """
    ticket_id = int(plan.fields["number"])
    for event_type in event_types:
        scoped = {**doc, "event": {**doc.get("event", {}), "type": event_type}}
        for firing in evaluate_triggers(runtime.rules, scoped, event_type):
            start = len(plan.effects)
            apply_actions(plan, firing.rule_id, firing.actions, firing.why)
            for n, effect in enumerate(plan.effects[start:]):
                effect["dedupe_key"] = f"{firing.rule_id}#{ticket_id}#{event_id}#{n}"


def run_due(plan: Plan, runtime: Runtime, doc: dict[str, Any], policy_id: str | None,
            metrics: Mapping[str, MetricState], now: datetime) -> list[str]:
    """Record breaches and apply due automations; returns the new firing keys.

    A deadline counts as breached from its own minute on (the sweep runs once a minute).
    """
    fields = plan.fields
    fired = set(fields.get("fired_keys") or ())
    ticket_id = int(fields["number"])
    new_keys: list[str] = []
    for m in metrics.values():
        key = breach_key(ticket_id, m)
        due = m.state in ("active", "breached_active") and m.due_at is not None and m.due_at <= now
        if due and key not in fired:
            plan.events.append({"type": "sla_breached", "data": {"metric": m.metric, "due_at": iso_z(m.due_at),
                                                                  "instance": m.instance, "policy": policy_id}})
            new_keys.append(key)
    deadlines = clock_deadlines(fields, metrics)
    shift = business_shift(fields, runtime, policy_id)
    for firing in due_automations(runtime.rules, doc, deadlines, fired, now, shift):
        start = len(plan.effects)
        apply_actions(plan, firing.rule_id, firing.actions, firing.why)
        for n, effect in enumerate(plan.effects[start:]):
            effect["dedupe_key"] = f"{firing.dedupe_key}#{n}"
            effect["metric"] = (firing.instance or "").split(":")[0]
        new_keys.append(str(firing.dedupe_key))
    fields["fired_keys"] = sorted(fired | set(new_keys))
    return new_keys


def schedule(fields: dict[str, Any], runtime: Runtime, doc: Mapping[str, Any], policy_id: str | None,
             metrics: Mapping[str, MetricState], now: datetime) -> None:
    """Store the SLA snapshot and the next times the sweep must look at the ticket.

    ``next_due_at``: earliest unrecorded breach or unfired automation (None:
    nothing pending, the ticket leaves the due index). ``sla_due_at``: earliest
    running deadline (for the at-risk and breached views).
    """
    ticket_id = int(fields["number"])
    fired = set(fields.get("fired_keys") or ())
    # Forget firing keys of deadline instances that no longer exist.
    live = {m.instance for m in metrics.values()} | {inst for _, inst in clock_deadlines(fields, metrics).values()}
    fired = {k for k in fired if k.rsplit("#", 1)[-1] in live}
    fields["fired_keys"] = sorted(fired)
    candidates = [m.due_at for m in metrics.values()
                  if m.state in ("active", "breached_active") and m.due_at and breach_key(ticket_id, m) not in fired]
    deadlines = clock_deadlines(fields, metrics)
    shift = business_shift(fields, runtime, policy_id)
    # An automation whose time has come and whose condition holds now (a warning whose time passed
    # before its deadline was known, or whose condition just became true) is due at once; one whose
    # condition does not hold is checked again on the ticket's next change, not every minute.
    if due_automations(runtime.rules, doc, deadlines, fired, now, shift):
        candidates.append(now)
    nxt = next_automation_time(runtime.rules, doc, deadlines, fired, now, shift)
    if nxt is not None:
        candidates.append(nxt)
    running = [m.due_at for m in metrics.values() if m.state in ("active", "breached_active") and m.due_at]
    fields["next_due_at"] = _epoch(min(candidates)) if candidates else None
    fields["sla_due_at"] = _epoch(min(running)) if running else None
    sla = dict(fields.get("sla") or {})
    sla.update({"policy": policy_id, "computed_at": iso_z(now),
                "metrics": {name: to_dict(m) for name, m in metrics.items()}})
    fields["sla"] = sla


def _epoch(t: datetime) -> int:
    return int(t.astimezone(timezone.utc).timestamp())


__all__ = ["METRICS", "breach_key", "clock_deadlines", "metrics_for", "metrics_with", "run_due", "run_triggers",
           "schedule", "status_log"]
