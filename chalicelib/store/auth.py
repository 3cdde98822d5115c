"""Who is calling: agents by token (or Cognito id), cached per container, checked again on every write.

A warm container answers ``authenticate`` from memory: no DynamoDB request.
An entry lives ``HELPDESK_AUTH_CACHE_TTL_S`` seconds (default 60), so a
disabled agent or a revoked token stops working for reads within that time.
Writes do not wait: the authenticated agent's ``auth_version`` (bumped by
every change to the agent: disabling, role, tokens) is remembered for the
request (``guard``), and every transaction the request commits carries a
``ConditionCheck`` that the agent item still has that version and is not
disabled. A stale cache therefore never writes: the transaction is cancelled,
``AgentChanged`` is raised, the entry is evicted and the caller re-authenticates
from the table. The check rides in the transaction the write makes anyway, so
it costs no extra request.
"""

from __future__ import annotations

import os
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import Unauthorized

DEFAULT_TTL_S = 60.0


class AgentChanged(Unauthorized):
    """The agent was disabled or changed since this container cached it; authenticate again."""


@dataclass(frozen=True)
class Guard:
    """The agent item key and the version a request authenticated against."""

    agent_id: str
    version: int


_guard: ContextVar[Guard | None] = ContextVar("helpdesk_auth_guard", default=None)
_cache: dict[tuple[str, str], tuple[float, object]] = {}
_lock = threading.Lock()


def ttl_s() -> float:
    """Seconds an authenticated agent is cached (``HELPDESK_AUTH_CACHE_TTL_S``; 0 disables the cache)."""
    try:
        return max(0.0, float(os.environ.get("HELPDESK_AUTH_CACHE_TTL_S", DEFAULT_TTL_S)))
    except ValueError:
        return DEFAULT_TTL_S


def cached(key: tuple[str, str]) -> object | None:
    """The cached agent for ``key`` (table, credential) if still fresh."""
    with _lock:
        hit = _cache.get(key)
        if hit is None or hit[0] < time.monotonic():
            _cache.pop(key, None)
            return None
        return hit[1]


def remember(key: tuple[str, str], agent: object) -> None:
    """Cache ``agent`` for ``key`` for ``ttl_s()``."""
    ttl = ttl_s()
    if ttl:
        with _lock:
            _cache[key] = (time.monotonic() + ttl, agent)


def forget(agent_id: str | None = None) -> None:
    """Drop the cached entries of one agent (every agent when None)."""
    with _lock:
        for key in [k for k, (_, a) in _cache.items() if agent_id is None or getattr(a, "agent_id", None) == agent_id]:
            del _cache[key]


def unchanged_condition(agent_model: Any, version: int) -> Any:
    """The condition an agent item meets while it is still what was authenticated: same
    ``auth_version`` (absent on records older than the field counts as 0) and not disabled."""
    same = agent_model.auth_version == version
    if version == 0:
        same = same | agent_model.auth_version.does_not_exist()
    enabled = agent_model.disabled.does_not_exist() | (agent_model.disabled == False)  # noqa: E712
    return same & enabled


def set_guard(agent_id: str, version: int) -> None:
    """Writes of the current request must find the agent at ``version`` (see module doc)."""
    _guard.set(Guard(agent_id, version))


def clear_guard() -> None:
    """No agent check for the writes that follow (end of a request, system work)."""
    _guard.set(None)


def current_guard() -> Guard | None:
    """The current request's agent check, if any."""
    return _guard.get()
