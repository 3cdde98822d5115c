"""Internal notes: on the timeline, never sent to the customer; @mentions notify agents."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chalicelib.services.flow import Extra, change_ticket
from chalicelib.store import agents, tickets
from chalicelib.store.models import AgentItem, TicketItem

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")


def mentioned_agents(body: str) -> list[AgentItem]:
    """Agents named as ``@id`` in the text (unknown names are ignored)."""
    found = []
    for agent_id in dict.fromkeys(MENTION.findall(body)):
        agent = agents.get_agent(agent_id)
        if agent is not None:
            found.append(agent)
    return found


def _literal(text: str) -> str:
    """Text that the template engine passes through unchanged."""
    return "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"


def add_note(number: int, author: AgentItem, body: str, now: datetime) -> dict[str, Any]:
    """Add the note and notify every mentioned agent once (by email)."""
    mentioned = mentioned_agents(body)

    def mutate(fields: dict[str, Any], ticket: TicketItem) -> Extra:
        data = {"body": body, "agent": author.agent_id, "agent_name": author.name,
                "mentions": [a.agent_id for a in mentioned]}
        effects = [
            {"type": "notify", "target": "email", "to": {"address": a.email}, "rule_id": "mention",
             "subject": "[#{{ ticket.id }}] " + _literal(f"{author.name} mentioned you"),
             "body": _literal(f"{author.name}: {body}") + "\n\n{{ ticket.url }}",
             "dedupe_key": f"mention#{number}#{author.agent_id}#{now.isoformat()}#{a.agent_id}"}
            for a in mentioned if a.email
        ]
        return Extra(events=[{"type": "note", "data": data}], effects=effects)

    changed = change_ticket(number, mutate, actor=f"agent:{author.agent_id}", now=now)
    note = next(e for e in changed.events if e.type == "note")
    return tickets.event_to_dict(note)
