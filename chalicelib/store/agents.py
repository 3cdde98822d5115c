"""Agents and their API tokens (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from chalicelib.settings import get_settings
from chalicelib.store import auth, keys
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
    """Create or replace an agent record (``phone`` in E.164 for SMS notifications); enabled, with a
    new ``auth_version`` so containers that cached the old record re-read it before their next write."""
    before = get_agent(agent_id)
    agent = AgentItem(
        keys.agent_pk(agent_id), AGENT_SK, agent_id=agent_id, name=name, email=email,
        role=role, department=department, phone=phone,
        auth_version=(int(before.auth_version or 0) + 1) if before else 1,
    )
    agent.save()
    auth.forget(agent_id)
    return agent


def set_disabled(agent_id: str, disabled: bool = True) -> AgentItem | None:
    """Disable (or enable) an agent: its tokens stop working at once for writes everywhere (the
    version check) and for reads within the cache TTL. None if there is no such agent."""
    agent = get_agent(agent_id)
    if agent is None:
        return None
    agent.update(actions=[AgentItem.disabled.set(disabled), AgentItem.auth_version.add(1)])
    auth.forget(agent_id)
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
    """The enabled agent holding this token, or None (cached per container, see ``store.auth``)."""
    key = (get_settings().table_name, "token:" + hash_token(token))
    hit = auth.cached(key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    try:
        tok = TokenItem.get(keys.token_pk(hash_token(token)), TOKEN_SK)
    except TokenItem.DoesNotExist:
        return None
    agent = get_agent(tok.agent_id)
    if agent is None or agent.disabled:
        return None
    auth.remember(key, agent)
    return agent


def agent_by_id(agent_id: str) -> AgentItem | None:
    """The enabled agent with this id (Cognito mode), or None; cached like ``agent_for_token``."""
    key = (get_settings().table_name, "id:" + agent_id)
    hit = auth.cached(key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    agent = get_agent(agent_id)
    if agent is None or agent.disabled:
        return None
    auth.remember(key, agent)
    return agent
