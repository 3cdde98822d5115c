"""The effects of fired rules: notifications into the outbox before commit, auto-replies after.

Before the ticket change commits, ``queue_notifications`` turns every
``notify`` effect into an outbox item: recipient resolved by role for the
target (``chalicelib.recipients``), subject and body rendered from the
template (the per-target variant ``<template>.<target>.json`` when there is
one, e.g. ``sla-warning.slack.json``) in the recipient's language. The item
rides on the effect (``store.outbox.EFFECT_KEY``) into the same transaction as
the firing. A notification that cannot be prepared (nobody in the role, no
address, no such target, a template error) is written as a ``failed`` item
with a ``notification_failed`` timeline event: nothing fails silently.

``auto_reply`` effects are queued the same way (``services.auto_replies``). After
the commit of an agent's change or the sweep, ``run_effects`` attempts the
queued items at once (the fast path; the dispatch schedule delivers anything it
leaves). Ingest commits and answers: its items wait for the dispatch job, so no
mail is sent inside a webhook's answer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from ulid import ULID

from chalicelib import templates
from chalicelib.directory import Directory, load_directory
from chalicelib.plugin_manager import get_plugin_manager, notification_targets
from chalicelib.recipients import resolve
from chalicelib.services import dispatch, outbound
from chalicelib.services.runtime import get_runtime
from chalicelib.settings import get_settings
from chalicelib.sla.display import local_time, minutes_left, zone_for
from chalicelib.sla.labels import remaining_label
from chalicelib.store import agents, tickets
from chalicelib.store import outbox as store_outbox
from chalicelib.store.models import OutboxItem, TicketItem

log = logging.getLogger(__name__)
DEFAULT_LANG = "ja"


_seen_agents: ContextVar[dict[str, Any] | None] = ContextVar("effects_seen_agents", default=None)


def _get_agent(agent_id: str) -> Any:
    """The agent record, read once per ``queue_notifications`` call (recipient and template both need it)."""
    memo = _seen_agents.get()
    if memo is None:
        return agents.get_agent(agent_id)
    if agent_id not in memo:
        memo[agent_id] = agents.get_agent(agent_id)
    return memo[agent_id]


def _agent(agent_id: str) -> dict[str, Any] | None:
    agent = _get_agent(agent_id)
    if agent is None:
        return None
    person = {"id": agent.agent_id, "name": agent.name, "email": agent.email, "phone": agent.phone,
              "department": agent.department, "lang": agent.lang}
    if agent.slack_channel:
        person["slack_channel"] = agent.slack_channel
    return person


def customer_lang(ticket: TicketItem) -> str:
    """The language the ticket's customer reads (their record's ``lang``, else the default)."""
    from chalicelib.store import customers

    customer = customers.get_customer(ticket.customer_id) if ticket.customer_id else None
    return (customer.lang if customer is not None else None) or DEFAULT_LANG


def ticket_link(ticket_id: int) -> str:
    """The console's page of a ticket: ``HELPDESK_PUBLIC_BASE_URL`` + ``/console#/ticket/N``
    (``make run`` sets the base URL; deployed, set it to the API's URL)."""
    return f"{get_settings().public_base_url}/console#/ticket/{ticket_id}"


def calendar_zone(ticket: TicketItem, to: Any = None) -> str | None:
    """The zone of the calendar a notification's times belong to: the escalation's for its contact,
    else the ticket's SLA policy's calendar."""
    runtime = get_runtime()
    esc = ticket.escalation or {}
    if to == "escalation_contact" and esc.get("calendar") in runtime.calendars:
        return runtime.calendars[esc["calendar"]].timezone
    rule = runtime.rules.get((ticket.sla or {}).get("policy") or "")
    calendar = runtime.calendars.get(getattr(rule, "calendar", None) or "")
    return calendar.timezone if calendar is not None else None


def _deadline(sla: Mapping[str, Any], metric: str | None, now: datetime, zone: str, lang: str) -> dict[str, Any]:
    """The deadline section: local time with its zone and the true wall-clock time left (cut to
    the minute), plus the business minutes left on the calendar."""
    due = sla.get("due_at")
    business = sla.get("business_minutes_remaining")
    left = minutes_left(datetime.fromisoformat(str(due).replace("Z", "+00:00")), now) if due else None
    return {"metric": metric, "due_at": due, "due_local": local_time(due, zone), "timezone": zone,
            "minutes_remaining": math.floor(left) if left is not None else business,
            "business_minutes_remaining": business,
            "remaining": remaining_label(left if left is not None else business, lang) if (
                left is not None or business is not None) else ""}


def template_context(ticket: TicketItem, effect: Mapping[str, Any], now: datetime,
                     lang: str = DEFAULT_LANG, zone: str | None = None) -> dict[str, Any]:
    """Variables a template sees (the same names ``templates.sample_context`` checks); times in
    ``zone`` (the recipient's, else the calendar's) with the zone named."""
    zone = zone or zone_for(None, calendar_zone(ticket, effect.get("to")))
    metric = effect.get("metric")
    sla = (ticket.sla or {}).get("metrics", {}).get(metric or "", {})
    agent = _get_agent(ticket.assignee) if ticket.assignee else None
    doc = tickets.ticket_to_dict(ticket)
    esc = dict(ticket.escalation or {})
    if esc.get("due_at"):
        esc["due_local"] = local_time(esc["due_at"], zone)
    return {
        "ticket": {**doc, "url": ticket_link(doc["id"]), "fields": {}},
        "customer": {"id": ticket.customer_id, "name": ticket.customer_name or "", "email": ticket.customer_email},
        "agent": {"id": ticket.assignee, "name": agent.name if agent else "", "email": agent.email if agent else ""},
        "deadline": _deadline(sla, metric, now, zone, lang),
        "escalation": esc,
        "now_local": local_time(now, zone),
        "rule": {"id": effect.get("rule_id")},
    }


def template_for(target: str | None, name: str) -> dict[str, Any]:
    """Template ``name``, or its variant for ``target`` (``<name>.<target>.json``) when there is one."""
    folder = get_settings().rules_dir / "templates"
    variant = f"{name}.{target}"
    return templates.load_template(folder, variant if target and (folder / f"{variant}.json").is_file() else name)


def render_for(target: str | None, effect: Mapping[str, Any], context: Mapping[str, Any],
               lang: str) -> templates.Rendered:
    """Subject and body of a notify effect for ``target`` in ``lang`` (template, or inline subject/body)."""
    if effect.get("template"):
        return templates.render(template_for(target, effect["template"]), context, lang)
    inline = {lang: {"subject": effect.get("subject", "[#{{ ticket.id }}] {{ ticket.subject }}"),
                     "body": effect.get("body", "{{ ticket.url }}")}}
    return templates.render(inline, context, lang)


def _dedupe_key(ticket: TicketItem, effect: Mapping[str, Any], now: datetime) -> str:
    """The firing's key; an effect without one (not from a rule) gets a unique key."""
    return effect.get("dedupe_key") or f"adhoc#{int(ticket.number)}#{ULID.from_datetime(now)}"


def _recipient_facts(ticket: TicketItem) -> dict[str, Any]:
    """What recipient resolution reads from the ticket."""
    return {"assignee": ticket.assignee, "department": ticket.department, "customer_id": ticket.customer_id,
            "customer_name": ticket.customer_name, "customer_email": ticket.customer_email,
            "escalation": ticket.escalation}


def _reply_to(ticket: TicketItem, effect: Mapping[str, Any]) -> str | None:
    """Where answers should go: the effect's ``reply_to``, or the open escalation's for its contact."""
    if effect.get("reply_to"):
        return str(effect["reply_to"])
    return (ticket.escalation or {}).get("reply_to") if effect.get("to") == "escalation_contact" else None


def notification_item(ticket: TicketItem, effect: Mapping[str, Any], now: datetime, directory: Directory,
                      targets: list[str]) -> OutboxItem:
    """The outbox item for one notify effect: resolved, rendered, due now (or failed, with why)."""
    target, to = effect["target"], effect["to"]
    number = int(ticket.number)
    common = {"dedupe_key": _dedupe_key(ticket, effect, now), "ticket_id": number, "rule_id": effect.get("rule_id"),
              "target": target, "to": to, "now": now}
    facts = _recipient_facts(ticket)
    if to == "customer":
        facts["customer_lang"] = customer_lang(ticket)
    who = resolve(target, to, facts, directory, _agent)
    lang = str(effect.get("lang") or (who.person or {}).get("lang") or DEFAULT_LANG)
    data = {"person": who.person, "link": ticket_link(number), "metric": effect.get("metric"),
            "reply_to": _reply_to(ticket, effect)}
    problem = who.problem if target in targets else f"no plugin delivers to target {target!r}"
    zone = zone_for(who.person, calendar_zone(ticket, to))
    if not problem and target == "email" and to == "customer":  # rule mail to the customer: the same guard
        problem = outbound.automatic_send_refusal(ticket, who.address)
    elif not problem and target == "email":
        guard = outbound.machine_address("email", who.address)
        problem = guard.message if guard else None
    try:
        context = template_context(ticket, effect, now, lang, zone)
        rendered = render_for(target, effect, context, lang)
        data.update(ticket=context["ticket"] | {"sla": None}, deadline=context["deadline"])
    except Exception as exc:  # noqa: BLE001 - any rendering error fails this notification, visibly
        rendered, problem = templates.Rendered("", ""), problem or f"template: {exc}"
    return store_outbox.new_item(**common, recipient=who.address, subject=rendered.subject, body=rendered.body,
                                 lang=lang, data=data, error=problem)


def _failed_event(item: OutboxItem) -> dict[str, Any]:
    return {"type": "notification_failed",
            "data": {"outbox_id": item.outbox_id, "rule_id": item.rule_id, "target": item.target, "to": item.to,
                     "recipient": item.recipient, "attempts": 0, "error": item.last_error}}


def queue_notifications(ticket: TicketItem, effects: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Before commit: attach an outbox item to each notify effect; returns timeline events for the
    ones that cannot be sent (they are written ``failed``, in the same transaction)."""
    notify = [e for e in effects if e.get("type") == "notify"]
    if not notify:
        return []
    directory = load_directory(get_settings().rules_dir)
    targets = notification_targets(get_plugin_manager())
    events = []
    token = _seen_agents.set({})
    try:
        for effect in notify:
            item = notification_item(ticket, effect, now, directory, targets)
            effect[store_outbox.EFFECT_KEY] = item
            if item.outbox_state == store_outbox.FAILED:
                events.append(_failed_event(item))
    finally:
        _seen_agents.reset(token)
    return events


def _queue_late(ticket: TicketItem, effects: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Write notify effects that skipped ``queue_notifications`` (not rule firings) to the outbox now,
    each once; returns timeline events for the ones that cannot be sent."""
    late = [e for e in effects if e.get("type") == "notify" and store_outbox.EFFECT_KEY not in e]
    failures = queue_notifications(ticket, late, now)
    for item in store_outbox.attached(late):
        store_outbox.put_new(item)
    return failures


def run_effects(ticket: TicketItem, effects: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """After commit: attempt the queued notifications and auto-replies (fast path).

    Returns timeline events for notifications that could not even be queued (and auto-replies
    that had not been queued: ``auto_replies.queue`` runs before the commit on every path of the
    service); the outbox puts each item's own outcome on the timeline when it is sent or fails.
    """
    from chalicelib.services import auto_replies

    events = _queue_late(ticket, effects, now)
    late = [e for e in effects if e.get("type") == "auto_reply" and store_outbox.EFFECT_KEY not in e]
    events += auto_replies.queue(ticket, late, now)
    for item in store_outbox.attached(late):
        store_outbox.put_new(item)
    queued = store_outbox.attached(effects)
    dispatch.deliver_held([i for i in queued if store_outbox.held(i)], now)
    dispatch.deliver_now([i.outbox_id for i in queued if not store_outbox.held(i)], now)
    return events
