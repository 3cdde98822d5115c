"""Agent roles and what each may do. Checked by the API before the service acts (403 otherwise).

- ``agent``: reads everything, replies, writes notes, claims and releases tickets, escalates,
  changes status, priority, department and tags, and assigns a ticket that is unassigned or their own
  (to themselves or to a colleague), or gives their own back.
- ``supervisor``: also moves tickets that belong to another agent, breaks another agent's claim, merges
  customers, redrives failed notifications and rebuilds KPI aggregates.
- ``admin``: everything a supervisor may, and erases a customer's personal data (GDPR
  ``DELETE /customers/{id}``: irreversible, so not a supervisor's).
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Forbidden

ROLES = ("agent", "supervisor", "admin")
SUPERVISOR_ROLES = ("supervisor", "admin")
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "reassign": SUPERVISOR_ROLES,
    "break_claim": SUPERVISOR_ROLES,
    "merge_customers": SUPERVISOR_ROLES,
    "redrive": SUPERVISOR_ROLES,
    "rebuild_aggregates": SUPERVISOR_ROLES,
    "erase_customers": ("admin",),
}
DESCRIPTIONS = {
    "reassign": "reassign a ticket that belongs to another agent",
    "break_claim": "break another agent's claim",
    "merge_customers": "merge customers",
    "redrive": "redrive a notification",
    "rebuild_aggregates": "rebuild aggregates",
    "erase_customers": "erase a customer's personal data",
}


def allowed(agent: Any, action: str) -> bool:
    """May ``agent`` (with a ``role``) do ``action`` (a key of ``PERMISSIONS``)?"""
    return (getattr(agent, "role", None) or "agent") in PERMISSIONS[action]


def ensure(agent: Any, action: str) -> None:
    """Raise ``Forbidden`` (403) naming the roles that may do ``action`` when ``agent`` may not."""
    if not allowed(agent, action):
        roles = " or ".join(PERMISSIONS[action])
        raise Forbidden(f"only a {roles} can {DESCRIPTIONS[action]} (your role: {agent.role or 'agent'})")


def may_assign(agent: Any, current: str | None, new: str | None) -> bool:
    """Without ``reassign``, an agent may assign only a ticket that is unassigned or their own (to anyone,
    themselves included: taking it or handing it to a colleague) and give their own back."""
    if allowed(agent, "reassign") or current == new:
        return True
    return current in (None, agent.agent_id) and (new is not None or current == agent.agent_id)
