"""Claims: a short, renewable lease saying "Sato is replying", so two agents never collide."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import roles
from chalicelib.domain import CLAIM_DEFAULT_TTL_S, CLAIM_MAX_TTL_S
from chalicelib.errors import Conflict
from chalicelib.sla.clocks import iso_z
from chalicelib.store import tickets
from chalicelib.store.models import AgentItem, TicketItem

DEFAULT_TTL_S = CLAIM_DEFAULT_TTL_S
MAX_TTL_S = CLAIM_MAX_TTL_S
SUPERVISOR_ROLES = roles.SUPERVISOR_ROLES


def active_claim(ticket: TicketItem, now: datetime) -> dict[str, Any] | None:
    """The unexpired claim on the ticket, or None (leases expire by themselves)."""
    claim = ticket.claim
    if not claim:
        return None
    expires = datetime.fromisoformat(claim["expires_at"].replace("Z", "+00:00"))
    return claim if expires > now else None


def conflict_for(claim: dict[str, Any]) -> Conflict:
    """The 409 naming who holds the ticket and since when."""
    return Conflict(f"{claim['name']} is replying (since {claim['since']})",
                    {"claim": claim, "holder": claim["agent"], "since": claim["since"]})


def ensure_free_for(ticket: TicketItem, agent_id: str, now: datetime) -> None:
    """Raise a 409 if another agent holds an unexpired claim."""
    claim = active_claim(ticket, now)
    if claim and claim["agent"] != agent_id:
        raise conflict_for(claim)


def take(number: int, agent: AgentItem, now: datetime, ttl_s: int = DEFAULT_TTL_S, force: bool = False
         ) -> dict[str, Any]:
    """Claim (or renew) the ticket for ``agent``; ``force`` (supervisors) breaks another's claim."""
    if force:
        roles.ensure(agent, "break_claim")
    ttl_s = max(30, min(ttl_s, MAX_TTL_S))
    for _attempt in range(4):
        ticket = tickets.get_ticket(number)
        current = active_claim(ticket, now)
        if current and current["agent"] != agent.agent_id and not force:
            raise conflict_for(current)
        since = current["since"] if current and current["agent"] == agent.agent_id else iso_z(now)
        claim = {"agent": agent.agent_id, "name": agent.name, "since": since,
                 "expires_at": iso_z(now + timedelta(seconds=ttl_s))}
        if current and current["agent"] != agent.agent_id:
            claim["broke"] = current["agent"]
        ticket.claim = claim
        if tickets.save_if_unchanged(ticket):  # a concurrent claim makes this fail: read again
            return claim
    raise Conflict("the ticket keeps changing; try again", {"ticket_id": number})


def release(number: int, agent: AgentItem, now: datetime) -> None:
    """Give the claim back (no-op when the agent does not hold it)."""
    for _attempt in range(4):
        ticket = tickets.get_ticket(number)
        current = active_claim(ticket, now)
        if not current or current["agent"] != agent.agent_id:
            return
        ticket.claim = None
        if tickets.save_if_unchanged(ticket):
            return
    raise Conflict("the ticket keeps changing; try again", {"ticket_id": number})
