"""Cross-department escalation with a deadline: the contact is told (by the department's
``contact_method``, email by default), answers by replying, and an unanswered escalation
returns to support (the shipped automation ``return-unanswered-escalation``) with the
manager told. Re-escalation keeps the chain.

The deadline is business time on the department's ``calendar`` (``departments.json``), else
on the calendar of the ticket's SLA policy; it is recorded on the escalation (``calendar``)
and rounded up to a whole minute, so the time the contact reads is exact. An escalation
ends when it is answered, when the ticket is solved or closed, or when an agent cancels it
(``cancel``); an ended one fires nothing (``services.escalation_state``)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from ulid import ULID

from chalicelib.directory import SUPPORT, load_directory
from chalicelib.errors import ValidationFailed
from chalicelib.services.escalation_state import end_escalation
from chalicelib.services.flow import Extra, change_ticket
from chalicelib.services.runtime import get_runtime
from chalicelib.settings import get_settings
from chalicelib.sla.clocks import iso_z
from chalicelib.sla.display import ceil_minute, local_time, zone_for
from chalicelib.store import tickets
from chalicelib.store.models import AgentItem, TicketItem

DEFAULT_MINUTES = 240
SUMMARY_MESSAGES = 5
_MESSAGES = ("message_in", "message_out", "internal_message")


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "pointer": f"/{field}", "message": message}])


def summary(number: int, zone: str, limit: int = SUMMARY_MESSAGES) -> str:
    """The last messages of the ticket, one line each, for the contact: times in ``zone``, named."""
    lines = []
    for e in tickets.get_timeline(number):
        if e.type in _MESSAGES and not (e.data or {}).get("auto_reply"):
            who = (e.data or {}).get("agent_name") or ((e.data or {}).get("from") or {}).get("name") or e.actor
            text = " ".join(((e.data or {}).get("body_text") or "").split())
            lines.append(f"- {local_time(e.at, zone)} {who}: {text[:300]}")
    return "\n".join(lines[-limit:])


def reply_to_address(number: int) -> str:
    """Where the contact's answer should go (routed back to this ticket)."""
    domain = os.environ.get("EMAIL_REPLY_DOMAIN", "")
    local = os.environ.get("EMAIL_REPLY_LOCAL", "support")
    return f"{local}+{number}@{domain}" if domain else os.environ.get("EMAIL_FROM", "support@example.com")


def _calendar_for(ticket: TicketItem, department: dict[str, Any]) -> Any:
    runtime = get_runtime()
    cal_id = department.get("calendar")
    if not cal_id:
        policy = runtime.rules.get((ticket.sla or {}).get("policy") or "")
        cal_id = getattr(policy, "calendar", None) or next(iter(runtime.calendars))
    return runtime.calendars[cal_id]


def escalate(number: int, agent: AgentItem, department_id: str, contact_id: str | None, note: str,
             due_minutes: int | None, now: datetime) -> dict[str, Any]:
    """Escalate to a department's contact with a business-time deadline; returns the escalation."""
    directory = load_directory(get_settings().rules_dir)
    department = directory.departments.get(department_id)
    if department is None or department_id == SUPPORT:
        raise _bad("department", f"unknown department {department_id!r}; one of {sorted(directory.departments)}")
    contacts = department.get("contacts") or []
    contact = directory.contact(contact_id) if contact_id else (contacts[0] if contacts else department.get("manager"))
    if not contact or (contact_id and contact.get("department") != department_id):
        raise _bad("contact", f"no contact {contact_id!r} in {department_id}")
    minutes = due_minutes or int(department.get("escalation_deadline_minutes", DEFAULT_MINUTES))
    created: dict[str, Any] = {}

    def mutate(fields: dict[str, Any], ticket: TicketItem) -> Extra:
        calendar = _calendar_for(ticket, department)
        zone = zone_for(contact, calendar.timezone)
        text = summary(number, zone)
        due = ceil_minute(calendar.add_business_minutes(now, minutes))
        previous = fields.get("escalation") or None
        chain = [*previous.get("chain", []), {k: v for k, v in previous.items() if k != "chain"}] if previous else []
        esc_id = str(ULID.from_datetime(now))
        esc = {"id": esc_id, "instance": esc_id, "state": "open", "department": department_id,
               "department_name": department.get("name", department_id),
               "contact": {k: contact.get(k) for k in ("id", "name", "email", "phone") if contact.get(k)},
               "note": note, "due_at": iso_z(due),
               "due_local": local_time(due, zone), "timezone": zone, "calendar": calendar.id,
               "business_minutes": minutes, "created_at": iso_z(now), "by": agent.name, "by_id": agent.agent_id,
               "summary": text, "reply_to": reply_to_address(number), "chain": chain}
        fields["escalation"] = esc
        fields["department"] = department_id
        created.update(esc)
        data = {k: esc[k] for k in ("id", "department", "contact", "note", "due_at", "business_minutes")}
        if previous and previous.get("state") == "open":
            data["replaces"] = previous["id"]
        effect = {"type": "notify", "target": department.get("contact_method", "email"),
                  "to": "escalation_contact", "template": "escalation-request", "rule_id": "escalation",
                  "dedupe_key": f"escalation#{number}#{esc_id}"}
        return Extra(events=[{"type": "escalated", "data": data}], effects=[effect], event_types=["escalated"])

    change_ticket(number, mutate, actor=f"agent:{agent.agent_id}", now=now)
    return created


def decline(number: int, actor: str, reason: str, now: datetime) -> None:
    """The contact cannot help: the deadline becomes now, so the return rule runs at the next sweep."""

    def mutate(fields: dict[str, Any], ticket: TicketItem) -> Extra:
        esc = fields.get("escalation") or {}
        if esc.get("state") != "open":
            raise _bad("escalation", "the ticket has no open escalation")
        fields["escalation"] = {**esc, "due_at": iso_z(now), "declined_at": iso_z(now), "decline_reason": reason}
        return Extra(events=[{"type": "escalation_declined", "data": {"id": esc["id"], "reason": reason}}])

    change_ticket(number, mutate, actor=actor, now=now)


def cancel(number: int, actor: str, reason: str, now: datetime) -> dict[str, Any]:
    """An agent ends the open escalation (no longer needed): nothing fires for it any more.

    Returns the ``escalation_ended`` event's data; ``ValidationFailed`` when none is open.
    """
    ended: dict[str, Any] = {}

    def mutate(fields: dict[str, Any], ticket: TicketItem) -> Extra:
        event = end_escalation(fields, "cancelled", actor, now, reason)
        if event is None:
            raise _bad("escalation", "the ticket has no open escalation")
        ended.clear()
        ended.update(event["data"])
        return Extra(events=[event])

    change_ticket(number, mutate, actor=actor, now=now)
    return ended
