"""Tickets as agents see them: live SLA clocks with remaining-time labels and urgency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.services.claims import active_claim
from chalicelib.services.evaluate import CLOSED, metrics_with
from chalicelib.services.runtime import get_runtime
from chalicelib.sla.clocks import to_dict
from chalicelib.sla.display import local_time, zone_for
from chalicelib.sla.labels import remaining_label, urgency
from chalicelib.store import tickets
from chalicelib.store.changes import ticket_fields
from chalicelib.store.models import TicketItem

URGENCY_ORDER = {"breached": 0, "at_risk": 1, "ok": 2, "paused": 3}


def sla_now(ticket: TicketItem, now: datetime, lang: str = "ja", warn_minutes: int = 60) -> dict[str, Any]:
    """Each SLA metric at ``now`` with a label ("残り1時間" / "2時間超過") and an urgency class.

    Uses the policy chosen at the ticket's last evaluation (no customer read
    per listed ticket). Labels count wall-clock time to the deadline (cut to the
    minute, ``chalicelib.sla.display``); urgency counts business minutes;
    ``due_local`` is the deadline in the calendar's zone, named.
    """
    fields = ticket_fields(ticket)
    policy_id = (fields.get("sla") or {}).get("policy")
    runtime = get_runtime()
    rule = runtime.rules.get(policy_id) if policy_id else None
    if rule is None:
        return {"policy": None, "metrics": {}, "urgency": None}
    metrics = metrics_with(fields, rule, runtime.calendars, now)
    zone = zone_for(None, getattr(runtime.calendars.get(rule.calendar), "timezone", None))
    out: dict[str, Any] = {}
    worst = None
    for name, m in metrics.items():
        item = to_dict(m)
        running = m.state in ("active", "breached_active", "paused")
        item["due_local"] = local_time(m.due_at, zone)
        if running and ticket.status not in CLOSED:
            wall = (m.due_at - now).total_seconds() / 60 if m.due_at else m.business_minutes_remaining
            item["label"] = remaining_label(wall, lang, breached=m.breached, paused=m.state == "paused")
            item["urgency"] = urgency(m.business_minutes_remaining, warn_minutes, paused=m.state == "paused",
                                      breached=m.breached)
            if worst is None or URGENCY_ORDER[item["urgency"]] < URGENCY_ORDER[worst]:
                worst = item["urgency"]
        out[name] = item
    return {"policy": policy_id, "metrics": out, "urgency": worst, "timezone": zone}


ESCALATION_FIELDS = ("id", "state", "department", "department_name", "due_at", "created_at", "by")


def present(ticket: TicketItem, now: datetime, lang: str = "ja") -> dict[str, Any]:
    """The ticket header as JSON with its live SLA state, the current claim ("Sato is replying")
    and the escalation's state, department and deadline."""
    body = tickets.ticket_to_dict(ticket)
    body["sla"] = sla_now(ticket, now, lang)
    body["claim"] = active_claim(ticket, now)
    esc = ticket.escalation or None
    body["escalation"] = {k: esc.get(k) for k in ESCALATION_FIELDS} if esc else None
    return body
