"""Managing agents (the API's ``/agents`` routes and the CLI's ``agent`` commands), every change audited.

Admins and supervisors manage agents; only an admin creates, changes or
disables an admin, or makes someone an admin. An agent cannot disable themself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.errors import Conflict, Forbidden, ValidationFailed
from chalicelib.store import agents, audit
from chalicelib.store.models import AgentItem

MANAGER_ROLES = ("supervisor", "admin")
PHONE = r"^\+[1-9][0-9]{6,14}$"
SLACK_CHANNEL = r"^(#[a-z0-9._-]{1,80}|[CDG][A-Z0-9]{8,})$"
_PROFILE = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "email": {"type": ["string", "null"], "format": "email", "pattern": r"^[^@\s]+@[^@\s]+$", "maxLength": 254},
    "role": {"enum": list(agents.ROLES)},
    "department": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
    "phone": {"type": ["string", "null"], "pattern": PHONE},
    "slack_channel": {"type": ["string", "null"], "pattern": SLACK_CHANNEL},
    "lang": {"enum": ["ja", "en", None]},
}
ADD_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["id", "name"],
    "properties": {"id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]{0,63}$"}, **_PROFILE},
}
UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {**_PROFILE, "disabled": {"type": "boolean"}},
}


def require_manager(actor: AgentItem) -> None:
    """Only supervisors and admins manage agents (403 otherwise)."""
    if actor.role not in MANAGER_ROLES:
        raise Forbidden("only a supervisor or an admin can manage agents")


def _guard(actor: AgentItem, target_role: str | None, new_role: str | None) -> None:
    require_manager(actor)
    if actor.role != "admin" and "admin" in (target_role, new_role):
        raise Forbidden("only an admin can create, change or disable an admin")


def add(actor: AgentItem, body: dict[str, Any], now: datetime) -> tuple[AgentItem, str]:
    """Create an agent and its first token (returned in clear once); 409 if the id is taken."""
    _guard(actor, None, body.get("role", "agent"))
    if agents.get_agent(body["id"]) is not None:
        raise Conflict(f"agent {body['id']!r} already exists", {"agent_id": body["id"]})
    profile = {k: body.get(k) for k in agents.PROFILE_FIELDS if k != "role"}
    agent = agents.upsert_agent(body["id"], role=body.get("role", "agent"), now=now, **profile)
    token = agents.issue_token(agent.agent_id, now)
    audit.record("agent_added", actor=_who(actor), target=f"agent:{agent.agent_id}",
                 data={k: v for k, v in agents.agent_to_dict(agent).items() if v is not None}, now=now)
    return agents.get_agent(agent.agent_id) or agent, token


def update(actor: AgentItem, agent_id: str, change: dict[str, Any], now: datetime) -> AgentItem:
    """Change an agent's profile, role or ``disabled``; audited with what changed from what."""
    target = _existing(agent_id)
    _guard(actor, target.role, change.get("role"))
    if change.get("disabled") and agent_id == actor.agent_id:
        raise ValidationFailed([{"field": "disabled", "pointer": "/disabled",
                                 "message": "you cannot disable yourself"}])
    agent, changed = agents.update_agent(agent_id, change, now)
    if changed:
        kind = "agent_disabled" if change.get("disabled") else "agent_enabled" if "disabled" in changed \
            else "agent_updated"
        audit.record(kind, actor=_who(actor), target=f"agent:{agent_id}", data={"changes": changed}, now=now)
    return agents.get_agent(agent_id) or agent


def rotate(actor: AgentItem, agent_id: str, now: datetime) -> str:
    """A new token for the agent (an agent may rotate their own); earlier tokens stop working."""
    target = _existing(agent_id)
    if agent_id != actor.agent_id:
        _guard(actor, target.role, None)
    token = agents.rotate_token(agent_id, now)
    audit.record("token_rotated", actor=_who(actor), target=f"agent:{agent_id}", data={}, now=now)
    return token


def _existing(agent_id: str) -> AgentItem:
    from chalicelib.errors import NotFound

    agent = agents.get_agent(agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id!r} not found")
    return agent


def _who(actor: AgentItem) -> str:
    return "cli" if actor.agent_id == "cli" and not actor.email else f"agent:{actor.agent_id}"
