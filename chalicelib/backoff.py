"""Retry policy of the notification outbox: attempts, exponential backoff, lease. Pure.

Attempt ``n`` (1-based) that fails is retried after ``base_s * 2**(n-1)``
seconds, capped at ``max_s``; after ``max_attempts`` attempts the item is
``failed``. With the defaults (5 attempts, 60 s base): retries 1, 2, 4 and 8
minutes after each failure, failed about 15 minutes after the first try.
Settings come from the environment, read when called (never at import):
``NOTIFY_MAX_ATTEMPTS``, ``NOTIFY_BACKOFF_BASE_S``, ``NOTIFY_BACKOFF_MAX_S``,
``NOTIFY_LEASE_S`` (how long one attempt may take before another dispatcher
may take the item over) and ``NOTIFY_FAST_PATH`` (``0`` turns off the
attempt right after the commit; the schedule still delivers).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart the outbox tries a notification."""

    max_attempts: int = 5
    base_s: int = 60
    max_s: int = 3600
    lease_s: int = 300
    fast_path: bool = True


def retry_policy(environ: Mapping[str, str] | None = None) -> RetryPolicy:
    """The policy from the environment (defaults for anything unset)."""
    env = os.environ if environ is None else environ
    d = RetryPolicy()
    return RetryPolicy(
        max_attempts=max(1, int(env.get("NOTIFY_MAX_ATTEMPTS") or d.max_attempts)),
        base_s=max(1, int(env.get("NOTIFY_BACKOFF_BASE_S") or d.base_s)),
        max_s=max(1, int(env.get("NOTIFY_BACKOFF_MAX_S") or d.max_s)),
        lease_s=max(1, int(env.get("NOTIFY_LEASE_S") or d.lease_s)),
        fast_path=(env.get("NOTIFY_FAST_PATH") or "1") not in ("0", "false", "off", "no"),
    )


def backoff_delay(attempts: int, policy: RetryPolicy) -> timedelta:
    """Wait after the ``attempts``-th failed attempt (1, 2, ...) before the next one."""
    exponent = max(0, attempts - 1)
    seconds = policy.max_s if exponent >= 32 else min(policy.max_s, policy.base_s * 2**exponent)
    return timedelta(seconds=seconds)


def next_attempt_at(now: datetime, attempts: int, policy: RetryPolicy) -> datetime | None:
    """When to try again after the ``attempts``-th failure at ``now``; None when attempts are used up."""
    if attempts >= policy.max_attempts:
        return None
    return now + backoff_delay(attempts, policy)
