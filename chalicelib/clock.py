"""The service's one clock: ``now()``.

Deployed (Lambda) and in every test that does not install one, ``now()`` is the
real time, timezone-aware UTC. Only the local stack (``make run``, see
``infra/local_stack.py``) may install a *movable* clock: a start time
(``CLOCK=2026-01-09T16:00+09:00``), a speed (``CLOCK_SPEED=60``: one real
second is one minute) and jumps (``POST /_local/clock``). Every component that
asks this module for the time (ingest timestamps, the sweep, outbox backoff, KPI
days, claim leases, the console's remaining-time labels) then sees the same
moved time, so a story plays out consistently.

Glue code (api/, jobs, services' callers) calls ``now()`` once per request or
run and passes the value down; the pure core (engine, sla, domain, mail) never
calls it: it takes ``now`` as an argument. Timestamps that another party checks
against its own real clock (webhook signature freshness) keep using real time.
This module imports nothing from AWS and reads no environment variable:
nothing in a deployed stack can move the clock.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone

__all__ = ["MovableClock", "install_local_clock", "local_clock", "now", "parse_clock", "uninstall_local_clock"]


class MovableClock:
    """Time that starts at ``start``, runs ``speed`` times as fast as real time, and can jump."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        """``start`` must be timezone-aware (default: the real now); ``speed`` must be > 0."""
        if start is not None and start.tzinfo is None:
            raise ValueError("the start time needs a time zone, e.g. 2026-01-09T16:00+09:00")
        self._lock = threading.Lock()
        self._anchor = (start or datetime.now(timezone.utc)).astimezone(timezone.utc)
        self._anchor_mono = time.monotonic()
        self._speed = _check_speed(speed)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """The simulated time, aware UTC."""
        with self._lock:
            return self._anchor + timedelta(seconds=(time.monotonic() - self._anchor_mono) * self._speed)

    def _reanchor(self, when: datetime) -> None:
        self._anchor, self._anchor_mono = when.astimezone(timezone.utc), time.monotonic()

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by ``delta`` (never backward); returns the new now."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            current = self._anchor + timedelta(seconds=(time.monotonic() - self._anchor_mono) * self._speed)
            self._reanchor(current + delta)
            return self._anchor

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (the current time is kept)."""
        with self._lock:
            current = self._anchor + timedelta(seconds=(time.monotonic() - self._anchor_mono) * self._speed)
            self._reanchor(current)
            self._speed = _check_speed(speed)


def _check_speed(speed: float) -> float:
    if not (isinstance(speed, int | float) and 0 < speed <= 1_000_000):
        raise ValueError(f"clock speed must be a number in (0, 1000000], not {speed!r}")
    return float(speed)


_LOCAL: MovableClock | None = None


def now() -> datetime:
    """The current time, aware UTC: real time unless the local stack installed a movable clock."""
    clock = _LOCAL
    return datetime.now(timezone.utc) if clock is None else clock.now()


def local_clock() -> MovableClock | None:
    """The installed movable clock, or None (real time)."""
    return _LOCAL


def install_local_clock(start: datetime | None = None, speed: float = 1.0) -> MovableClock:
    """Install a movable clock for this process. Refuses inside AWS Lambda (RuntimeError)."""
    global _LOCAL
    # Set by the Lambda runtime (not AWS_EXECUTION_ENV: importing chalice sets that one anywhere).
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        raise RuntimeError("a movable clock is for the local stack only, never in a deployed function")
    _LOCAL = MovableClock(start, speed)
    return _LOCAL


def uninstall_local_clock() -> None:
    """Back to real time."""
    global _LOCAL
    _LOCAL = None


def parse_clock(text: str) -> datetime:
    """Parse ``CLOCK``: ISO 8601 with a zone offset (``2026-01-09T16:00+09:00``, ``...Z``). ValueError otherwise."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"CLOCK={text!r} is not an ISO 8601 time such as 2026-01-09T16:00+09:00") from None
    if when.tzinfo is None:
        raise ValueError(f"CLOCK={text!r} needs a zone offset, e.g. 2026-01-09T16:00+09:00")
    return when.astimezone(timezone.utc)
