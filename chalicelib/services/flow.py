"""Ticket changes end to end: evaluate rules and clocks, commit once, then carry out effects.

Three entry points share one evaluation path (the pure ``services.decide``, also used by
the offline replay): ``prepare_new_ticket`` / ``prepare_message`` (ingest, inside the
create/append transaction), ``change_ticket`` (an agent or API change) and
``sweep_ticket`` (the clock). This module only reads, commits and runs effects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.backoff import retry_policy
from chalicelib.domain import InboundMessage
from chalicelib.errors import Conflict
from chalicelib.services import auto_replies, decide
from chalicelib.services import effects as effects_service
from chalicelib.services.decide import Extra
from chalicelib.services.document import customer_fields
from chalicelib.services.runtime import get_runtime
from chalicelib.store import changes as store_changes
from chalicelib.store import customers, tickets
from chalicelib.store import outbox as store_outbox
from chalicelib.store.models import TicketItem

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 4
__all__ = ["MAX_ATTEMPTS", "Changed", "Extra", "change_ticket", "prepare_message", "prepare_new_ticket",
           "run_effects", "sweep_ticket"]


def prepare_new_ticket(customer_item: Any) -> tickets.Prepare:
    """The ``prepare`` step of ticket creation: ticket_created triggers and first SLA clocks."""

    def prepare(ticket: TicketItem, first_event: dict[str, Any]) -> tuple[list[dict], list[dict]]:
        now = ticket.updated_at
        plan = decide.creation_plan(store_changes.ticket_fields(ticket), customer_fields(customer_item),
                                    first_event, now, get_runtime())
        store_changes.apply_fields(ticket, plan.fields, now)
        failures = effects_service.queue_notifications(ticket, plan.effects, now)
        failures += auto_replies.queue(ticket, plan.effects, now, customer=customer_item, first_event=first_event)
        return plan.events + failures, plan.effects

    return prepare


def prepare_message(customer_item: Any, msg: InboundMessage) -> tickets.Prepare:
    """The ``prepare`` step of a message joining a ticket: reopen, next-reply clock, triggers."""

    def prepare(ticket: TicketItem, event: dict[str, Any]) -> tuple[list[dict], list[dict]]:
        now = max(ticket.updated_at, msg.received_at)
        message = {"received_at": msg.received_at, "internal": msg.internal, "sender_email": msg.sender.email,
                   "body_text": msg.body_text, "subject": msg.subject, "channel": msg.channel,
                   "actor": event["actor"]}
        plan = decide.message_plan(store_changes.ticket_fields(ticket), customer_fields(customer_item), message,
                                   event["id"], now, get_runtime())
        store_changes.apply_fields(ticket, plan.fields, now)
        failures = effects_service.queue_notifications(ticket, plan.effects, now)
        failures += auto_replies.queue(ticket, plan.effects, now, customer=customer_item)
        return plan.events + failures, plan.effects

    return prepare


def _commit(ticket: TicketItem, events: list[dict[str, Any]], firing_keys: list[str],
            effects: list[dict[str, Any]], now: datetime, actor: str, items: list[Any] | None = None) -> list[Any]:
    """Queue the notify effects into the outbox and commit them with the change (and ``items``), in one
    transaction."""
    failures = effects_service.queue_notifications(ticket, effects, now) + auto_replies.queue(ticket, effects, now)
    queued = store_outbox.attached(effects)
    policy = retry_policy()
    if policy.fast_path:  # written leased to this process: sent right after the commit, no claim needed
        store_outbox.lease_new(queued, now, policy.lease_s)
    return store_changes.commit(ticket, [*events, *failures], firing_keys, now, actor, extra_items=items or (),
                                outbox_items=queued)


def run_effects(ticket: TicketItem, planned: list[dict[str, Any]], now: datetime, actor: str = "system") -> None:
    """After commit: attempt the queued notifications and auto-replies (fast path), putting what could
    not be queued on the timeline. Both are already durable in the outbox. Ingest does not call
    this: its items are delivered by the dispatch job, outside the webhook's answer."""
    if not planned:
        return
    outcomes = effects_service.run_effects(ticket, planned, now)
    store_changes.append_events(int(ticket.number), outcomes, now, actor)


@dataclass
class Changed:
    """A committed change: the ticket as saved and the timeline items written."""

    ticket: TicketItem
    events: list[Any]


Mutation = Callable[[dict[str, Any], TicketItem], "Extra | None"]
Loader = Callable[[int], tuple[TicketItem, Any]]
"""Reads a ticket's header and its customer record (``None`` if gone) for one attempt."""


def load_ticket(number: int) -> tuple[TicketItem, Any]:
    """The default ``Loader``: the header, then its customer (two GetItem)."""
    ticket = tickets.get_ticket(number)
    return ticket, customers.get_customer(ticket.customer_id)


def change_ticket(number: int, mutate: Mutation, *, actor: str, now: datetime, load: Loader = load_ticket
                  ) -> Changed:
    """Apply ``mutate`` to the ticket's fields, run the triggers its changes cause, commit, run effects.

    ``mutate(fields, ticket)`` runs on a fresh read each attempt and may raise
    (e.g. ``Conflict``) to refuse. An agent's first action moves a new ticket to
    open. Optimistic: if someone changed the ticket meanwhile, read it again and retry.
    ``load`` reads the ticket and its customer (a caller that needs more of the ticket, such as
    its timeline, reads it in the same requests instead of again).
    """
    for attempt in range(MAX_ATTEMPTS):
        ticket, customer_item = load(number)
        before = store_changes.ticket_fields(ticket)
        after = dict(before)
        extra = mutate(after, ticket) or Extra()
        customer = customer_fields(customer_item)
        plan = decide.change_plan(before, after, extra, customer, actor, now, get_runtime())
        store_changes.apply_fields(ticket, plan.fields, now)
        try:
            items = _commit(ticket, plan.events, [], extra.effects + plan.effects, now, actor, extra.items)
        except Conflict:
            log.info("ticket %s changed meanwhile; retry %d", number, attempt + 1)
            continue
        run_effects(ticket, extra.effects + plan.effects, now)
        return Changed(ticket, items)
    raise Conflict(f"ticket {number} keeps changing; try again", {"ticket_id": number})


def sweep_ticket(number: int, now: datetime, loaded: tuple[TicketItem, Any] | None = None) -> list[str]:
    """Record breaches and fire due automations for one ticket, each exactly once.

    Returns the firing keys recorded. A concurrent or repeated sweep loses the
    conditional write of the firing record and records nothing twice. ``loaded`` is the
    header and customer already read (the sweep reads them in batches) for the first
    attempt; a retry after a conflict reads them again.
    """
    for _attempt in range(MAX_ATTEMPTS):
        ticket, customer_item = loaded if loaded is not None else load_ticket(number)
        loaded = None
        fields = store_changes.ticket_fields(ticket)
        customer = customer_fields(customer_item)
        decision = decide.sweep_plan(fields, customer, now, get_runtime())
        plan, keys = decision.plan, decision.keys
        if not decision.changed:
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
