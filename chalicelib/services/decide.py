"""What a ticket change decides, without the store: plain fields in, a ``Plan`` out. PURE.

Production (``services.flow``: ingest, agent changes, the sweep) and the
offline replay (``chalicelib.replay``) both call these functions, so there is
one evaluation path. ``runtime`` (the compiled rules and calendars) is an
argument: the replay evaluates two rule sets side by side.

- ``creation_plan``: a new ticket's ``ticket_created`` triggers and first clocks.
- ``message_plan``: a customer (or staff) message joining a ticket: reopen,
  next-reply clock, ``customer_message`` triggers, an escalation answered.
- ``change_plan``: an agent's or the system's change of fields (``Extra``
  carries the events, effects and trigger event types the change adds).
- ``sweep_plan``: what the per-minute sweep records and fires for a due ticket.
- ``reply_fields``: how an agent reply moves the reply clocks.
- ``is_due``: the due index's predicate (``next_due_at <= now``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain import Status
from chalicelib.services.actions import Plan
from chalicelib.services.document import document
from chalicelib.services.escalation_state import end_on_status
from chalicelib.services.evaluate import metrics_for, run_due, run_triggers, schedule
from chalicelib.services.runtime import Runtime
from chalicelib.sla.clocks import MetricState, iso_z

CHANGE_EVENTS = {"status": "status_changed", "priority": "priority_changed", "assignee": "assignee_changed"}
TIMELINE_TYPES = {"status": "status_changed", "priority": "priority_changed", "assignee": "assigned",
                  "department": "assigned", "tags": "tags_changed"}
SCHEDULE_FIELDS = ("next_due_at", "sla_due_at", "fired_keys")


@dataclass
class Extra:
    """What a change adds besides field changes: timeline events (recorded before the rule
    events), effects, trigger event types (e.g. ``agent_reply``) and the event section."""

    events: list[dict[str, Any]] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    event: dict[str, Any] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)
    """Other items committed in the same transaction (e.g. a reply's in-flight marker)."""


@dataclass
class SweepDecision:
    """What one sweep of one due ticket decided: the plan, the firing keys it records, and
    whether anything is to be committed at all (``changed`` False: leave the ticket alone)."""

    plan: Plan
    keys: list[str]
    changed: bool


def track_status(plan: Plan, now: datetime) -> None:
    """Keep the status history the SLA pauses are computed from, and solved_at."""
    f = plan.fields
    sla = dict(f.get("sla") or {})
    log_ = list(sla.get("status_log") or [[iso_z(f["created_at"]), plan.original.get("status", Status.NEW.value)]])
    if log_[-1][1] != f["status"]:
        log_.append([iso_z(now), f["status"]])
        if f["status"] == Status.SOLVED.value or (f["status"] == Status.CLOSED.value and not f.get("solved_at")):
            f["solved_at"] = now  # closing without solving first stops the clocks too
    sla["status_log"] = log_
    f["sla"] = sla


def change_events(plan: Plan) -> list[dict[str, Any]]:
    """Timeline events for the tracked fields the plan changed (``{"type", "data": {field, from, to}}``)."""
    return [{"type": TIMELINE_TYPES[name], "data": {"field": name, **change}}
            for name, change in plan.changes().items() if name in TIMELINE_TYPES]


def end_escalation_on_status(plan: Plan, now: datetime, actor: str = "system") -> None:
    """Solving or closing the ticket (by anyone, or by a rule's action) ends its open escalation."""
    ended = end_on_status(plan.fields, plan.original, actor, now)
    if ended is not None:
        plan.events.append(ended)


Clocks = tuple[str | None, dict[str, MetricState]]


def _clock_inputs(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Everything SLA selection and the clocks may read (all fields but the firing records)."""
    return {k: v for k, v in fields.items() if k != "fired_keys"}


def _clocks(plan: Plan, customer: Mapping[str, Any], now: datetime, runtime: Runtime) -> Clocks:
    return metrics_for(plan.fields, runtime, document(plan.fields, customer, {}, now), now)


def finish_evaluation(plan: Plan, customer: Mapping[str, Any], now: datetime, runtime: Runtime,
                      actor: str = "system", known: tuple[dict[str, Any], Clocks] | None = None) -> None:
    """Recompute the SLA clocks on the planned fields and schedule the next sweep.

    ``known``: fields and the clocks computed from them earlier at the same ``now``; reused
    when the fields are still the same (nothing fired that changed them), not recomputed.
    """
    track_status(plan, now)
    end_escalation_on_status(plan, now, actor)
    if known is not None and known[0] == _clock_inputs(plan.fields):
        policy_id, metrics = known[1]
    else:
        policy_id, metrics = _clocks(plan, customer, now, runtime)
    schedule(plan.fields, runtime, document(plan.fields, customer, metrics, now), policy_id, metrics, now)


def evaluate_event(plan: Plan, customer: Mapping[str, Any], event: Mapping[str, Any],
                   event_types: Iterable[str], event_id: str, now: datetime, runtime: Runtime) -> Plan:
    """Run triggers for the event types on the planned fields, then recompute SLA and schedule."""
    track_status(plan, now)
    clocks = _clocks(plan, customer, now, runtime)
    seen = _clock_inputs(plan.fields)
    doc = document(plan.fields, customer, clocks[1], now, event=event, changes=plan.changes())
    run_triggers(plan, runtime, doc, event_types, event_id)
    finish_evaluation(plan, customer, now, runtime, str(event.get("actor") or "system"), known=(seen, clocks))
    plan.events = change_events(plan) + plan.events
    return plan


def creation_plan(fields: Mapping[str, Any], customer: Mapping[str, Any], first_event: Mapping[str, Any],
                  now: datetime, runtime: Runtime) -> Plan:
    """A new ticket (``fields`` as created, status new): ``ticket_created`` triggers and first clocks."""
    plan = Plan(fields=dict(fields), original=dict(fields))
    data = first_event.get("data") or {}
    event = {"type": "ticket_created", "body_text": data.get("body_text", ""),
             "subject": data.get("subject", ""), "channel": fields.get("channel"), "actor": first_event["actor"]}
    return evaluate_event(plan, customer, event, ["ticket_created"], first_event["id"], now, runtime)


def answers_escalation(fields: dict[str, Any], sender_email: str, now: datetime) -> bool:
    """Mark the open escalation answered when its contact writes; True if it was."""
    esc = fields.get("escalation") or {}
    contact = ((esc.get("contact") or {}).get("email") or "").lower()
    if esc.get("state") == "open" and contact and contact == (sender_email or "").lower():
        fields["escalation"] = {**esc, "state": "answered", "answered_at": iso_z(now)}
        return True
    return False


def message_plan(before: Mapping[str, Any], customer: Mapping[str, Any], message: Mapping[str, Any],
                 event_id: str, now: datetime, runtime: Runtime) -> Plan:
    """A message joining a ticket. ``message``: ``received_at``, ``internal``, ``sender_email``,
    ``body_text``, ``subject``, ``channel``, ``actor``. A customer message reopens a pending or
    solved ticket and starts the next-reply clock; a staff message from the open escalation's
    contact answers it (an ``escalation_answered`` event first in ``plan.events``)."""
    after = dict(before)
    kinds: list[str] = []
    received = message["received_at"]
    if not message.get("internal"):
        after["last_customer_message_at"] = received
        if after["status"] in (Status.PENDING.value, Status.SOLVED.value):
            after["status"] = Status.OPEN.value
            after["solved_at"] = None
        if after.get("first_replied_at") and not after.get("awaiting_reply_since"):
            after["awaiting_reply_since"] = received
        kinds = ["customer_message"]
    extra_events: list[dict[str, Any]] = []
    if message.get("internal") and answers_escalation(after, str(message.get("sender_email") or ""), now):
        extra_events.append({"type": "escalation_answered", "data": {"by": message.get("sender_email")}})
    plan = Plan(fields=after, original=dict(before))
    ev = {"type": "customer_message", "body_text": message.get("body_text", ""),
          "subject": message.get("subject", ""), "channel": message.get("channel"), "actor": message.get("actor", "")}
    evaluate_event(plan, customer, ev, kinds, event_id, now, runtime)
    plan.events = extra_events + plan.events
    return plan


def reply_fields(fields: dict[str, Any], now: datetime, status: str) -> None:
    """An agent reply at ``now``: stops the first/next reply clocks and sets the chosen status."""
    fields["first_replied_at"] = fields.get("first_replied_at") or now
    fields["last_agent_reply_at"] = now
    fields["awaiting_reply_since"] = None
    fields["status"] = status


def change_plan(before: Mapping[str, Any], after: dict[str, Any], extra: Extra, customer: Mapping[str, Any],
                actor: str, now: datetime, runtime: Runtime) -> Plan:
    """A mutated copy ``after`` of ``before``: the triggers its changes cause, clocks and schedule.

    An agent's first action moves a new ticket to open.
    """
    if actor.startswith("agent:") and before["status"] == after["status"] == Status.NEW.value:
        after["status"] = Status.OPEN.value
    plan = Plan(fields=after, original=dict(before))
    kinds = extra.event_types + [CHANGE_EVENTS[f] for f in plan.changes() if f in CHANGE_EVENTS]
    ev = {"type": kinds[0] if kinds else "status_changed", "actor": actor, "channel": before.get("channel"),
          **extra.event}
    evaluate_event(plan, customer, ev, kinds, f"{actor}@{iso_z(now)}", now, runtime)
    plan.events = extra.events + plan.events
    return plan


def sweep_plan(fields: Mapping[str, Any], customer: Mapping[str, Any], now: datetime, runtime: Runtime
               ) -> SweepDecision:
    """Breaches to record and automations due at ``now`` for one ticket, and its next schedule."""
    plan = Plan(fields=dict(fields), original=dict(fields))
    seen = _clock_inputs(plan.fields)
    clocks = _clocks(plan, customer, now, runtime)
    keys = run_due(plan, runtime, document(plan.fields, customer, clocks[1], now), clocks[0], clocks[1], now)
    finish_evaluation(plan, customer, now, runtime, "system:sweep", known=(seen, clocks))
    plan.events = change_events(plan) + plan.events
    moved = any(plan.fields.get(k) != fields.get(k) for k in SCHEDULE_FIELDS)
    return SweepDecision(plan, keys, bool(keys or plan.events or plan.effects or moved))


def is_due(fields: Mapping[str, Any], now: datetime) -> bool:
    """Would the sweep at ``now`` find this ticket in the due index (``next_due_at <= now``)?"""
    due = fields.get("next_due_at")
    return due is not None and int(due) <= int(now.timestamp())
