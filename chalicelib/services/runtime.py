"""Process-wide rule runtime: the compiled rules and business calendars, loaded once.

A Lambda container loads ``rules/`` on first use and keeps it; conditions are
compiled once per process. ``reset()`` forgets it (tests, the local runner
after editing rules).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from chalicelib.engine import RuleSet, load_rules
from chalicelib.settings import get_settings
from chalicelib.sla.calendar import BusinessCalendar
from chalicelib.sla.calendar_doc import load_calendar


@dataclass(frozen=True)
class Runtime:
    """Everything evaluation needs from ``rules/``."""

    rules_dir: Path
    rules: RuleSet
    calendars: dict[str, BusinessCalendar]


def load_calendars(rules_dir: Path) -> dict[str, BusinessCalendar]:
    """Every calendar in ``rules_dir/calendars`` by id."""
    out = {}
    for path in sorted((rules_dir / "calendars").glob("*.json")):
        cal = load_calendar(json.loads(path.read_text(encoding="utf-8")))
        out[cal.id] = cal
    return out


@functools.cache
def _load(rules_dir: Path) -> Runtime:
    return Runtime(rules_dir, load_rules(rules_dir), load_calendars(rules_dir))


def get_runtime() -> Runtime:
    """The runtime for the configured rules directory (loaded once per process)."""
    return _load(get_settings().rules_dir)


def reset() -> None:
    """Forget loaded rules (they are read again on next use)."""
    _load.cache_clear()
