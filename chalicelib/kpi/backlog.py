"""The backlog: unsolved tickets at an instant, by status and by age. PURE.

A snapshot maps ticket number -> (status, arrival epoch seconds) for every
ticket in an active status (new, open, pending, on-hold). The snapshot at the
end of a day is the previous day's snapshot with that day's touched tickets
replaced by their replayed status, so keeping one snapshot per day costs one
day's events, never the whole history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.kpi.facts import ACTIVE

Snapshot = dict[int, tuple[str, int]]
AGE_BUCKETS = (("<1d", 1), ("1-3d", 3), ("3-7d", 7), ("7d+", None))
STATUS_ORDER = ("new", "open", "pending", "on-hold")


def roll(previous: Mapping[int, tuple[str, int]], changes: Iterable[tuple[int, str | None, datetime | None]]
         ) -> Snapshot:
    """``previous`` with each ``(ticket, status at the end, arrival)`` applied: active ones in, others out."""
    out = dict(previous)
    for number, status, created_at in changes:
        if status in ACTIVE and created_at is not None:
            out[number] = (status, int(created_at.timestamp()))
        else:
            out.pop(number, None)
    return out


def age_bucket(age_days: float) -> str:
    """The age class of a ticket ``age_days`` old: <1d, 1-3d, 3-7d, 7d+."""
    for name, limit in AGE_BUCKETS:
        if limit is None or age_days < limit:
            return name
    raise AssertionError("unreachable")  # pragma: no cover


def summarize(snapshot: Mapping[int, tuple[str, int]], as_of: datetime) -> dict[str, Any]:
    """``{"total", "by_status", "by_age", "as_of"}`` of a snapshot taken at ``as_of``."""
    statuses = Counter(status for status, _ in snapshot.values())
    ages = Counter(age_bucket((as_of.timestamp() - created) / 86400) for _, created in snapshot.values())
    return {
        "as_of": as_of.isoformat().replace("+00:00", "Z"),
        "total": len(snapshot),
        "by_status": {s: statuses.get(s, 0) for s in STATUS_ORDER},
        "by_age": {name: ages.get(name, 0) for name, _ in AGE_BUCKETS},
    }


def to_rows(snapshot: Mapping[int, tuple[str, int]]) -> list[list[Any]]:
    """JSON rows ``[ticket, status, arrival epoch]`` in ticket order."""
    return [[n, s, c] for n, (s, c) in sorted(snapshot.items())]


def from_rows(rows: Iterable[list[Any]]) -> Snapshot:
    """The snapshot ``to_rows`` wrote."""
    return {int(n): (str(s), int(c)) for n, s, c in rows}
