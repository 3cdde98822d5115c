"""Agents and their API tokens (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError

from chalicelib.settings import get_settings
from chalicelib.store import auth, keys
from chalicelib.store.models import AgentItem, TokenItem

AGENT_SK = "AGENT"
TOKEN_SK = "TOKEN"
ROLES = ("agent", "supervisor", "admin")
PROFILE_FIELDS = ("name", "email", "role", "department", "phone", "slack_channel", "lang")


def hash_token(token: str) -> str:
    """SHA-256 hex of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def upsert_agent(
    agent_id: str, *, name: str, email: str | None = None, role: str = "agent",
    department: str | None = None, phone: str | None = None, slack_channel: str | None = None,
    lang: str | None = None, now: datetime | None = None,
) -> AgentItem:
    """Create or replace an agent record (``phone`` in E.164 for SMS notifications); enabled, tokens
    kept, with a new ``auth_version`` so containers that cached the old record re-read it before their
    next write."""
    existing = get_agent(agent_id)
    agent = AgentItem(
        keys.agent_pk(agent_id), AGENT_SK, agent_id=agent_id, name=name, email=email,
        role=role, department=department, phone=phone, slack_channel=slack_channel, lang=lang,
        token_hashes=existing.token_hashes if existing else None,
        auth_version=(int(existing.auth_version or 0) + 1) if existing else 1,
        created_at=(existing.created_at if existing else None) or now, updated_at=now,
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
    digest = hash_token(token)
    TokenItem(keys.token_pk(digest), TOKEN_SK, agent_id=agent_id, created_at=now).save()
    agent = get_agent(agent_id)
    if agent is not None:
        agent.update(actions=[AgentItem.token_hashes.add({digest})])
        auth.forget(agent_id)
    return token


def get_agent(agent_id: str) -> AgentItem | None:
    """The agent, or None."""
    try:
        return AgentItem.get(keys.agent_pk(agent_id), AGENT_SK)
    except AgentItem.DoesNotExist:
        return None


def agent_for_token(token: str) -> AgentItem | None:
    """The enabled agent holding this (not rotated away) token, or None (cached per container, see
    ``store.auth``)."""
    digest = hash_token(token)
    key = (get_settings().table_name, "token:" + digest)
    hit = auth.cached(key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    try:
        tok = TokenItem.get(keys.token_pk(digest), TOKEN_SK)
    except TokenItem.DoesNotExist:
        return None
    agent = get_agent(tok.agent_id)
    if agent is None or agent.disabled:
        return None
    if agent.token_hashes is not None and digest not in agent.token_hashes:
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


def agent_by_email(email: str) -> AgentItem | None:
    """The one enabled agent whose ``email`` equals ``email`` (case-insensitive), or None (none, or more
    than one: an ambiguous address signs nobody in). One Query of the ``Agents`` index, cached like
    ``agent_for_token``."""
    wanted = email.strip().lower()
    key = (get_settings().table_name, "email:" + wanted)
    hit = auth.cached(key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    matches = [a for a in list_agents() if (a.email or "").strip().lower() == wanted]
    if len(matches) != 1 or matches[0].disabled:
        return None
    agent = get_agent(matches[0].agent_id)  # the index may project less than the whole item
    if agent is None or agent.disabled:
        return None
    auth.remember(key, agent)
    return agent


def list_agents(limit: int = 500) -> list[AgentItem]:
    """Every agent by id (the sparse ``Agents`` index; one Query per 1 MB)."""
    return list(AgentItem.everyone.query("AGENTS", limit=limit))


def update_agent(agent_id: str, change: dict[str, Any], now: datetime) -> tuple[AgentItem, dict[str, Any]]:
    """Apply profile changes (``None`` clears a field) and ``disabled``; returns the agent and the
    ``{field: {"from", "to"}}`` that changed."""
    agent = get_agent(agent_id)
    if agent is None:
        from chalicelib.errors import NotFound

        raise NotFound(f"agent {agent_id!r} not found")
    changed: dict[str, Any] = {}
    actions = []
    for name, value in change.items():
        old = getattr(agent, name)
        if old == value:
            continue
        changed[name] = {"from": old, "to": value}
        attr = getattr(AgentItem, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    if actions:
        agent.update(actions=[*actions, AgentItem.updated_at.set(now), AgentItem.auth_version.add(1)])
        auth.forget(agent_id)
    return agent, changed


def rotate_token(agent_id: str, now: datetime) -> str:
    """A new token for the agent; every earlier token stops working at once. Returns it in clear."""
    agent = get_agent(agent_id)
    if agent is None:
        from chalicelib.errors import NotFound

        raise NotFound(f"agent {agent_id!r} not found")
    old = set(agent.token_hashes or ())
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    TokenItem(keys.token_pk(digest), TOKEN_SK, agent_id=agent_id, created_at=now).save()
    agent.update(actions=[AgentItem.token_hashes.set({digest}), AgentItem.updated_at.set(now),
                          AgentItem.auth_version.add(1)])
    auth.forget(agent_id)
    for stale in old:
        try:
            TokenItem(keys.token_pk(stale), TOKEN_SK).delete()
        except DeleteError:
            pass  # the agent's token list already excludes it
    return token


def agent_to_dict(agent: AgentItem) -> dict[str, Any]:
    """JSON-ready agent (never a token or its hash)."""
    return {"id": agent.agent_id, "name": agent.name, "email": agent.email, "role": agent.role,
            "department": agent.department, "phone": agent.phone, "slack_channel": agent.slack_channel,
            "lang": agent.lang, "disabled": bool(agent.disabled),
            "tokens": len(agent.token_hashes or ())}
