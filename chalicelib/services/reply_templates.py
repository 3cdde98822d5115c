"""Reply templates (macros) with personalisation, from ``rules/templates/``."""

from __future__ import annotations

from typing import Any

from chalicelib import templates
from chalicelib.errors import ValidationFailed
from chalicelib.settings import get_settings
from chalicelib.store import tickets
from chalicelib.store.models import AgentItem, TicketItem


def order_fields(number: int) -> dict[str, Any]:
    """Extra form fields of the ticket's first message (an order number, say)."""
    for event in tickets.get_timeline(number):
        if event.type == "message_in":
            return dict(((event.data or {}).get("metadata") or {}).get("fields") or {})
    return {}


def reply_context(ticket: TicketItem, agent: AgentItem, extra: dict[str, Any]) -> dict[str, Any]:
    """Variables a reply template sees: ticket (with ``fields``), customer, agent."""
    doc = tickets.ticket_to_dict(ticket)
    fields = {**order_fields(int(ticket.number)), **extra}
    return {
        **templates.sample_context(),
        "ticket": {**doc, "url": f"/tickets/{doc['id']}", "fields": fields},
        "customer": {"id": ticket.customer_id, "name": ticket.customer_name or "", "email": ticket.customer_email},
        "agent": {"id": agent.agent_id, "name": agent.name, "email": agent.email or ""},
    }


def render_reply(ticket: TicketItem, agent: AgentItem, name: str, extra: dict[str, Any], lang: str = "ja") -> str:
    """The body of template ``name`` for this ticket; 400 naming the problem when it cannot render."""
    try:
        doc = templates.load_template(get_settings().rules_dir / "templates", name)
        return templates.render(doc, reply_context(ticket, agent, extra), lang).body
    except templates.TemplateProblem as exc:
        raise ValidationFailed([{"field": "template", "pointer": "/template", "message": str(exc)}]) from exc
