"""Carry out the effects of fired rules after the ticket change is committed.

``notify`` resolves recipients by role (assignee, escalation contact,
department manager, manager, customer) or address and hands one
``Notification`` per recipient to the notifier plugins; ``auto_reply`` renders
a template and sends it through the ticket's channel plugin. Every outcome,
including "nobody to notify" and "no plugin sends on this channel", is written
to the ticket's timeline: nothing fails silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib import templates
from chalicelib.directory import Directory, load_directory
from chalicelib.domain import Notification, OutboundMessage
from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.secrets import get_secret
from chalicelib.settings import get_settings
from chalicelib.sla.labels import remaining_label
from chalicelib.store import agents, tickets
from chalicelib.store.models import TicketItem

log = logging.getLogger(__name__)


def _person(role_or_address: Any, ticket: TicketItem, directory: Directory) -> dict[str, Any] | None:
    if isinstance(role_or_address, Mapping):
        address = role_or_address.get("address")
        return {"id": address, "name": address, "email": address} if address else None
    role = role_or_address
    if role == "assignee" and ticket.assignee:
        agent = agents.get_agent(ticket.assignee)
        return {"id": ticket.assignee, "name": agent.name if agent else ticket.assignee,
                "email": agent.email if agent else None}
    if role == "customer":
        return {"id": ticket.customer_id, "name": ticket.customer_name, "email": ticket.customer_email}
    if role == "escalation_contact" and ticket.escalation:
        return ticket.escalation.get("contact")
    if role == "department_manager":
        return directory.manager(ticket.department)
    if role == "manager":
        return directory.manager(None)
    return None


def template_context(ticket: TicketItem, effect: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Variables a template sees (the same names ``templates.sample_context`` checks)."""
    base = get_settings().public_base_url
    metric = effect.get("metric")
    sla = (ticket.sla or {}).get("metrics", {}).get(metric or "", {})
    minutes = sla.get("business_minutes_remaining")
    agent = agents.get_agent(ticket.assignee) if ticket.assignee else None
    doc = tickets.ticket_to_dict(ticket)
    return {
        "ticket": {**doc, "url": f"{base}/tickets/{doc['id']}" if base else f"/tickets/{doc['id']}",
                   "fields": {}},
        "customer": {"id": ticket.customer_id, "name": ticket.customer_name or "", "email": ticket.customer_email},
        "agent": {"id": ticket.assignee, "name": agent.name if agent else "", "email": agent.email if agent else ""},
        "deadline": {"metric": metric, "due_at": sla.get("due_at"), "minutes_remaining": minutes,
                     "remaining": remaining_label(minutes, "ja") if minutes is not None else ""},
        "escalation": ticket.escalation or {},
        "rule": {"id": effect.get("rule_id")},
    }


def _content(effect: Mapping[str, Any], context: Mapping[str, Any]) -> templates.Rendered:
    if effect.get("template"):
        doc = templates.load_template(get_settings().rules_dir / "templates", effect["template"])
        return templates.render(doc, context, effect.get("lang", "ja"))
    inline = {"ja": {"subject": effect.get("subject", "[#{{ ticket.id }}] {{ ticket.subject }}"),
                     "body": effect.get("body", "{{ ticket.url }}")}}
    return templates.render(inline, context)


def run_effects(ticket: TicketItem, effects: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Carry out effects; returns timeline events describing each outcome."""
    pm = get_plugin_manager()
    directory = load_directory(get_settings().rules_dir)
    events: list[dict[str, Any]] = []
    for effect in effects:
        try:
            context = template_context(ticket, effect, now)
            rendered = _content(effect, context)
            if effect["type"] == "notify":
                events.append(_notify(pm, ticket, effect, rendered, directory))
            else:
                events.append(_auto_reply(pm, ticket, effect, rendered))
        except Exception as exc:
            log.exception("effect of rule %s failed", effect.get("rule_id"))
            events.append({"type": "effect_failed", "data": {"rule_id": effect.get("rule_id"),
                                                             "effect": effect["type"], "error": str(exc)}})
    return events


def _notify(pm: Any, ticket: TicketItem, effect: Mapping[str, Any], rendered: templates.Rendered,
            directory: Directory) -> dict[str, Any]:
    person = _person(effect["to"], ticket, directory)
    target = effect["target"]
    data = {"rule_id": effect.get("rule_id"), "target": target, "to": effect["to"], "subject": rendered.subject}
    if not person:
        return {"type": "notification_failed", "data": {**data, "error": "no recipient for this role"}}
    recipient = person.get("email") if target == "email" else (person.get("id") or person.get("email"))
    note = Notification(target=target, recipient=str(recipient), subject=rendered.subject, body_text=rendered.body,
                        dedupe_key=effect.get("dedupe_key", ""), ticket_id=int(ticket.number),
                        metadata={"person": person})
    result = pm.hook.helpdesk_notify(notification=note, get_secret=get_secret)
    if result is None:
        return {"type": "notification_failed", "data": {**data, "error": f"no plugin delivers to {target!r}"}}
    kind = "notification_sent" if result.delivered else "notification_failed"
    return {"type": kind, "data": {**data, "recipient": note.recipient, "detail": result.detail}}


def _auto_reply(pm: Any, ticket: TicketItem, effect: Mapping[str, Any],
                rendered: templates.Rendered) -> dict[str, Any]:
    msg = OutboundMessage(ticket_id=int(ticket.number), channel=ticket.channel, to=ticket.customer_email or "",
                          subject=rendered.subject, body_text=rendered.body,
                          metadata={"rule_id": effect.get("rule_id"), "auto_reply": True})
    data = {"rule_id": effect.get("rule_id"), "subject": rendered.subject, "body_text": rendered.body,
            "to": msg.to, "auto_reply": True}
    result = pm.hook.helpdesk_send_message(message=msg, get_secret=get_secret)
    if result is None:
        return {"type": "auto_reply_not_sent",
                "data": {**data, "error": f"no plugin sends on channel {ticket.channel!r}"}}
    return {"type": "message_out", "data": {**data, "provider_message_id": result.provider_message_id}}
