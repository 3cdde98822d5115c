"""Agents and their API tokens (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from chalicelib.store import keys
from chalicelib.store.models import AgentItem, TokenItem

AGENT_SK = "AGENT"
TOKEN_SK = "TOKEN"


def hash_token(token: str) -> str:
    """SHA-256 hex of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def upsert_agent(
    agent_id: str, *, name: str, email: str | None = None, role: str = "agent",
    department: str | None = None, phone: str | None = None,
) -> AgentItem:
    """Create or replace an agent record (``phone`` in E.164 for SMS notifications)."""
    agent = AgentItem(
        keys.agent_pk(agent_id), AGENT_SK, agent_id=agent_id, name=name, email=email,
        role=role, department=department, phone=phone,
    )
    agent.save()
    return agent


def issue_token(agent_id: str, now: datetime, token: str | None = None) -> str:
    """Store a (given or new random) token for the agent and return it in clear once."""
    token = token or secrets.token_urlsafe(32)
    TokenItem(keys.token_pk(hash_token(token)), TOKEN_SK, agent_id=agent_id, created_at=now).save()
    return token


def get_agent(agent_id: str) -> AgentItem | None:
    """The agent, or None."""
    try:
        return AgentItem.get(keys.agent_pk(agent_id), AGENT_SK)
    except AgentItem.DoesNotExist:
        return None


def agent_for_token(token: str) -> AgentItem | None:
    """The agent holding this token, or None."""
    try:
        tok = TokenItem.get(keys.token_pk(hash_token(token)), TOKEN_SK)
    except TokenItem.DoesNotExist:
        return None
    return get_agent(tok.agent_id)
