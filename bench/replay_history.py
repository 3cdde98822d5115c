"""A synthetic month of help-desk history in the export format (for the replay benchmark).

Deterministic (seeded). Each ticket arrives (weighted to office hours, JST), is usually
assigned within half an hour, answered after a while, often set pending and answered
again after the customer writes back, sometimes escalated, re-prioritised or solved.
Events are shaped as production records them (see chalicelib/replay/inputs.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import IO, Any

UTC = timezone.utc
START = datetime(2026, 11, 1, tzinfo=timezone(timedelta(hours=9))).astimezone(UTC)
AGENTS = ("sato", "tanaka", "suzuki-a", "ito", "kato-a")
SUZUKI = {"id": "suzuki", "name": "鈴木", "email": "suzuki.warehouse@example.com"}


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ticket(number: int, rng: random.Random, days: int) -> dict[str, Any]:
    """One ticket line."""
    day = rng.randrange(days)
    hour = rng.choice((9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 16, 17, 18, 20, 22, 7))
    t0 = START + timedelta(days=day, hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
    email = f"c{number % 7000}@example.com"
    events: list[dict[str, Any]] = []
    status = "new"

    def add(type_: str, at: datetime, actor: str, data: dict[str, Any]) -> None:
        events.append({"id": f"{number}-{len(events)}", "type": type_, "at": _iso(at), "actor": actor, "data": data})

    def set_status(at: datetime, to: str, actor: str) -> None:
        nonlocal status
        add("status_changed", at, actor, {"field": "status", "from": status, "to": to})
        status = to

    def message(at: datetime) -> None:
        add("message_in", at, f"customer:email:{email}", {"channel": "email", "subject": "ご注文について",
                                                         "body_text": "お問い合わせです", "from": {"email": email}})
        if status in ("pending", "solved"):
            set_status(at, "open", "system")

    message(t0)
    agent = rng.choice(AGENTS)
    t = t0
    if rng.random() < 0.75:
        t = t0 + timedelta(minutes=rng.randint(1, 30))
        add("assigned", t, f"agent:{agent}", {"field": "assignee", "from": None, "to": agent})
        if rng.random() < 0.08:
            add("priority_changed", t, f"agent:{agent}", {"field": "priority", "from": "normal",
                                                          "to": rng.choice(("high", "urgent", "low"))})
        set_status(t, "open", f"agent:{agent}")
    if rng.random() < 0.08:
        t = t + timedelta(minutes=rng.randint(5, 60))
        add("escalated", t, f"agent:{agent}", {"id": f"E{number}", "department": "warehouse", "contact": SUZUKI,
                                               "note": "確認", "due_at": _iso(t + timedelta(hours=4)),
                                               "business_minutes": 240})
        add("assigned", t, f"agent:{agent}", {"field": "department", "from": None, "to": "warehouse"})
    for _round in range(rng.choice((1, 1, 1, 2, 2, 3))):
        t = t + timedelta(minutes=max(3, int(rng.expovariate(1 / 150))))
        to = rng.choice(("open", "pending", "pending", "solved"))
        add("message_out", t, f"agent:{agent}", {"body_text": "ご連絡ありがとうございます", "agent": agent,
                                                 "state": "sent", "channel": "email"})
        if to != status:
            set_status(t, to, f"agent:{agent}")
        if to == "solved" or rng.random() < 0.3:
            break
        t = t + timedelta(minutes=rng.randint(30, 2 * 24 * 60))
        message(t)
    end = START + timedelta(days=days)
    events = [e for e in events if e["at"] < _iso(end)]
    customer = {"id": f"cust{number % 7000}", "name": "顧客", "email": email, "vip": number % 50 == 0, "tags": []}
    return {"kind": "ticket", "ticket": {"number": number, "channel": "email", "subject": "ご注文について",
                                         "category": None, "customer_id": customer["id"], "customer_name": "顧客",
                                         "customer_email": email, "created_at": _iso(t0)},
            "customer": customer, "events": events}


def lines(tickets: int, days: int = 30, seed: int = 16) -> Iterator[str]:
    """The history file's lines: a header, then ``tickets`` ticket lines."""
    rng = random.Random(seed)
    yield json.dumps({"kind": "header", "format": "helpdesk-history/1", "synthetic": True})
    for n in range(1, tickets + 1):
        yield json.dumps(ticket(n, rng, days), ensure_ascii=False)


def write(out: IO[str], tickets: int, days: int = 30) -> None:
    """Write a synthetic history file."""
    for line in lines(tickets, days):
        out.write(line + "\n")
