"""Ticket changes end to end: evaluate rules and clocks, commit once, then carry out effects.

Three entry points share one evaluation path (``services.evaluate``):
``prepare_new_ticket`` (ingest, inside the create transaction),
``change_ticket`` (an agent or API change) and ``sweep_ticket`` (the clock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain import InboundMessage, Status
from chalicelib.errors import Conflict
from chalicelib.services import effects as effects_service
from chalicelib.services.actions import Plan
from chalicelib.services.document import customer_fields, document
from chalicelib.services.evaluate import metrics_for, run_due, run_triggers, schedule
from chalicelib.services.runtime import get_runtime
from chalicelib.sla.clocks import iso_z
from chalicelib.store import changes as store_changes
from chalicelib.store import customers, tickets
from chalicelib.store import outbox as store_outbox
from chalicelib.store.models import TicketItem

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 4
CHANGE_EVENTS = {"status": "status_changed", "priority": "priority_changed", "assignee": "assignee_changed"}
TIMELINE_TYPES = {"status": "status_changed", "priority": "priority_changed", "assignee": "assigned",
                  "department": "assigned", "tags": "tags_changed"}


def _track_status(plan: Plan, now: datetime) -> None:
    """Keep the status history the SLA pauses are computed from, and solved_at."""
    f = plan.fields
    sla = dict(f.get("sla") or {})
    log_ = list(sla.get("status_log") or [[iso_z(f["created_at"]), plan.original.get("status", Status.NEW.value)]])
    if log_[-1][1] != f["status"]:
        log_.append([iso_z(now), f["status"]])
        if f["status"] == Status.SOLVED.value:
            f["solved_at"] = now
    sla["status_log"] = log_
    f["sla"] = sla


def _change_events(plan: Plan) -> list[dict[str, Any]]:
    return [{"type": TIMELINE_TYPES[name], "data": {"field": name, **change}}
            for name, change in plan.changes().items() if name in TIMELINE_TYPES]


def _finish_evaluation(plan: Plan, customer: Mapping[str, Any], now: datetime) -> None:
    runtime = get_runtime()
    _track_status(plan, now)
    policy_id, metrics = metrics_for(plan.fields, runtime, document(plan.fields, customer, {}, now), now)
    schedule(plan.fields, runtime, document(plan.fields, customer, metrics, now), policy_id, metrics, now)


def evaluate_event(plan: Plan, customer: Mapping[str, Any], event: Mapping[str, Any],
                   event_types: Iterable[str], event_id: str, now: datetime) -> Plan:
    """Run triggers for the event types on the planned fields, then recompute SLA and schedule."""
    runtime = get_runtime()
    _track_status(plan, now)
    policy_id, metrics = metrics_for(plan.fields, runtime, document(plan.fields, customer, {}, now), now)
    doc = document(plan.fields, customer, metrics, now, event=event, changes=plan.changes())
    run_triggers(plan, runtime, doc, event_types, event_id)
    _finish_evaluation(plan, customer, now)
    plan.events = _change_events(plan) + plan.events
    return plan


def prepare_new_ticket(customer_item: Any) -> tickets.Prepare:
    """The ``prepare`` step of ticket creation: ticket_created triggers and first SLA clocks."""

    def prepare(ticket: TicketItem, first_event: dict[str, Any]) -> tuple[list[dict], list[dict]]:
        now = ticket.updated_at
        fields = store_changes.ticket_fields(ticket)
        plan = Plan(fields=dict(fields), original=dict(fields))
        data = first_event.get("data") or {}
        event = {"type": "ticket_created", "body_text": data.get("body_text", ""),
                 "subject": data.get("subject", ""), "channel": ticket.channel, "actor": first_event["actor"]}
        evaluate_event(plan, customer_fields(customer_item), event, ["ticket_created"], first_event["id"], now)
        store_changes.apply_fields(ticket, plan.fields, now)
        return plan.events + effects_service.queue_notifications(ticket, plan.effects, now), plan.effects

    return prepare


def prepare_message(customer_item: Any, msg: InboundMessage) -> tickets.Prepare:
    """The ``prepare`` step of a message joining a ticket: reopen, next-reply clock, triggers."""

    def prepare(ticket: TicketItem, event: dict[str, Any]) -> tuple[list[dict], list[dict]]:
        now = max(ticket.updated_at, msg.received_at)
        before = store_changes.ticket_fields(ticket)
        after = dict(before)
        kinds: list[str] = []
        if not msg.internal:
            after["last_customer_message_at"] = msg.received_at
            if after["status"] in (Status.PENDING.value, Status.SOLVED.value):
                after["status"] = Status.OPEN.value
                after["solved_at"] = None
            if after.get("first_replied_at") and not after.get("awaiting_reply_since"):
                after["awaiting_reply_since"] = msg.received_at
            kinds = ["customer_message"]
        extra_events: list[dict[str, Any]] = []
        if msg.internal and _answers_escalation(after, msg.sender.email, now):
            extra_events.append({"type": "escalation_answered", "data": {"by": msg.sender.email}})
        plan = Plan(fields=after, original=before)
        ev = {"type": "customer_message", "body_text": msg.body_text, "subject": msg.subject,
              "channel": msg.channel, "actor": event["actor"]}
        evaluate_event(plan, customer_fields(customer_item), ev, kinds, event["id"], now)
        store_changes.apply_fields(ticket, plan.fields, now)
        failures = effects_service.queue_notifications(ticket, plan.effects, now)
        return extra_events + plan.events + failures, plan.effects

    return prepare


def _answers_escalation(fields: dict[str, Any], sender_email: str, now: datetime) -> bool:
    """Mark the open escalation answered when its contact writes; True if it was."""
    esc = fields.get("escalation") or {}
    contact = ((esc.get("contact") or {}).get("email") or "").lower()
    if esc.get("state") == "open" and contact and contact == (sender_email or "").lower():
        fields["escalation"] = {**esc, "state": "answered", "answered_at": iso_z(now)}
        return True
    return False


def _commit(ticket: TicketItem, events: list[dict[str, Any]], firing_keys: list[str],
            effects: list[dict[str, Any]], now: datetime, actor: str) -> list[Any]:
    """Queue the notify effects into the outbox and commit them with the change, in one transaction."""
    failures = effects_service.queue_notifications(ticket, effects, now)
    return store_changes.commit(ticket, [*events, *failures], firing_keys, now, actor,
                                outbox_items=store_outbox.attached(effects))


def run_effects(ticket: TicketItem, planned: list[dict[str, Any]], now: datetime, actor: str = "system") -> None:
    """After commit: attempt the queued notifications (fast path) and send auto-replies, putting
    their outcomes on the timeline. Notifications are already durable in the outbox."""
    if not planned:
        return
    outcomes = effects_service.run_effects(ticket, planned, now)
    store_changes.append_events(int(ticket.number), outcomes, now, actor)


@dataclass
class Extra:
    """What a change adds besides field changes: timeline events (recorded before the rule
    events), effects, trigger event types (e.g. ``agent_reply``) and the event section."""

    events: list[dict[str, Any]] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    event: dict[str, Any] = field(default_factory=dict)


@dataclass
class Changed:
    """A committed change: the ticket as saved and the timeline items written."""

    ticket: TicketItem
    events: list[Any]


Mutation = Callable[[dict[str, Any], TicketItem], "Extra | None"]


def change_ticket(number: int, mutate: Mutation, *, actor: str, now: datetime) -> Changed:
    """Apply ``mutate`` to the ticket's fields, run the triggers its changes cause, commit, run effects.

    ``mutate(fields, ticket)`` runs on a fresh read each attempt and may raise
    (e.g. ``Conflict``) to refuse. An agent's first action moves a new ticket to
    open. Optimistic: if someone changed the ticket meanwhile, read it again and retry.
    """
    for attempt in range(MAX_ATTEMPTS):
        ticket = tickets.get_ticket(number)
        before = store_changes.ticket_fields(ticket)
        after = dict(before)
        extra = mutate(after, ticket) or Extra()
        if actor.startswith("agent:") and before["status"] == after["status"] == Status.NEW.value:
            after["status"] = Status.OPEN.value
        plan = Plan(fields=after, original=before)
        kinds = extra.event_types + [CHANGE_EVENTS[f] for f in plan.changes() if f in CHANGE_EVENTS]
        customer = customer_fields(customers.get_customer(ticket.customer_id))
        ev = {"type": kinds[0] if kinds else "status_changed", "actor": actor, "channel": ticket.channel,
              **extra.event}
        evaluate_event(plan, customer, ev, kinds, f"{actor}@{iso_z(now)}", now)
        plan.events = extra.events + plan.events
        store_changes.apply_fields(ticket, plan.fields, now)
        try:
            items = _commit(ticket, plan.events, [], extra.effects + plan.effects, now, actor)
        except Conflict:
            log.info("ticket %s changed meanwhile; retry %d", number, attempt + 1)
            continue
        run_effects(ticket, extra.effects + plan.effects, now)
        return Changed(ticket, items)
    raise Conflict(f"ticket {number} keeps changing; try again", {"ticket_id": number})


def sweep_ticket(number: int, now: datetime) -> list[str]:
    """Record breaches and fire due automations for one ticket, each exactly once.

    Returns the firing keys recorded. A concurrent or repeated sweep loses the
    conditional write of the firing record and records nothing twice.
    """
    for _attempt in range(MAX_ATTEMPTS):
        ticket = tickets.get_ticket(number)
        fields = store_changes.ticket_fields(ticket)
        plan = Plan(fields=dict(fields), original=dict(fields))
        customer = customer_fields(customers.get_customer(ticket.customer_id))
        runtime = get_runtime()
        policy_id, metrics = metrics_for(plan.fields, runtime, document(plan.fields, customer, {}, now), now)
        keys = run_due(plan, runtime, document(plan.fields, customer, metrics, now), policy_id, metrics, now)
        _finish_evaluation(plan, customer, now)
        plan.events = _change_events(plan) + plan.events
        moved = any(plan.fields.get(k) != fields.get(k) for k in ("next_due_at", "sla_due_at", "fired_keys"))
        if not (keys or plan.events or plan.effects or moved):
            return []
        store_changes.apply_fields(ticket, plan.fields, now)
        try:
            _commit(ticket, plan.events, keys, plan.effects, now, "system:sweep")
        except Conflict:
            continue
        run_effects(ticket, plan.effects, now)
        return keys
    log.warning("ticket %s: gave up sweeping after %d conflicts", number, MAX_ATTEMPTS)
    return []
