"""Benchmark: computing a ticket's SLA metrics costs the same at 1 day and at 365 days of age.

Every evaluation (ingest, agent change, sweep, every listed ticket) computes the ticket's
metrics. Business time used to be counted by walking every opening interval since the ticket
was created (159 µs new, 2.3 ms at one year); it now comes from cached per-year prefix sums
(``BusinessCalendar.business_minutes_between``) and deadlines walk only their target.

For each age, a ticket on the shipped ``jp-office`` calendar (JP holidays, year-end closure)
with the default policy, still unsolved (so every clock runs up to ``now``), with a reply and a
customer message (a next-reply clock) and a pending pause in its history, is evaluated
``--repeat`` times through ``services.evaluate.metrics_with`` (what production calls). The old
algorithm (walking every interval) is timed side by side on the same inputs for context.

    python bench/bench_sla_age.py [--repeat 2000]

Prints µs per evaluation for 1 day and 365 days and the ratio; exits 1 when the ratio
(365 d / 1 d) exceeds 2 or the two algorithms disagree.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.engine import load_rules
from chalicelib.services.evaluate import metrics_with
from chalicelib.services.runtime import load_calendars
from chalicelib.sla.clocks import iso_z

UTC = timezone.utc
NOW = datetime(2026, 11, 18, 2, 15, tzinfo=UTC)  # a Wednesday, 11:15 JST
ROOT = Path(__file__).resolve().parents[1]


def ticket(age_days: int) -> dict[str, Any]:
    """An open, unsolved ticket created ``age_days`` ago with a reply, a pause and a new message."""
    created = NOW - timedelta(days=age_days)
    reply = created + timedelta(hours=3)
    pause, resume = created + timedelta(hours=5), created + timedelta(hours=29)
    message = NOW - timedelta(hours=2)
    log = [[iso_z(created), "new"], [iso_z(reply), "open"], [iso_z(pause), "pending"], [iso_z(resume), "open"]]
    return {"number": 1, "status": "open", "priority": "normal", "created_at": created,
            "first_replied_at": reply, "last_agent_reply_at": reply, "awaiting_reply_since": message,
            "sla": {"status_log": log}}


def walked_minutes(calendar: Any, start: datetime, end: datetime) -> float:
    """The old way: walk every opening interval from ``start`` to ``end``."""
    return sum(((e - s) for s, e in calendar.open_intervals(start, end)), timedelta(0)).total_seconds() / 60


def per_call_us(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(5):  # best of five runs: the machine is shared
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    rules = load_rules(ROOT / "rules")
    calendars = load_calendars(ROOT / "rules")
    policy = rules.get("sla-default")
    calendar = calendars[policy.calendar]
    rows = {}
    ok = True
    for age in (1, 365):
        fields = ticket(age)
        metrics = metrics_with(fields, policy, calendars, NOW)  # warm: the year's prefix sums are built once
        new_us = per_call_us(lambda f=fields: metrics_with(f, policy, calendars, NOW), args.repeat)
        start = fields["created_at"]
        old = walked_minutes(calendar, start, NOW)
        old_us = per_call_us(lambda s=start: walked_minutes(calendar, s, NOW), max(10, args.repeat // 20))
        fast = calendar.business_minutes_between(start, NOW)
        ok &= abs(old - fast) < 1e-6
        rows[age] = (new_us, old_us, {m: s.state for m, s in metrics.items()})
    print(f"{'':46}{'1 day':>12}{'365 days':>12}{'ratio':>9}")
    new1, new365 = rows[1][0], rows[365][0]
    print(f"{'metrics_with per evaluation (µs)':46}{new1:12.1f}{new365:12.1f}{new365 / new1:8.2f}x")
    old1, old365 = rows[1][1], rows[365][1]
    print(f"{'old interval walk, business time only (µs)':46}{old1:12.1f}{old365:12.1f}{old365 / old1:8.2f}x")
    print(f"states at 1 day: {rows[1][2]}; at 365 days: {rows[365][2]}")
    if new365 / new1 > 2:
        print("FAIL: metric computation grows with ticket age (more than 2x)")
        return 1
    if not ok:
        print("FAIL: prefix sums and the interval walk disagree")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
