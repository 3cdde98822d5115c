"""Benchmark: a 90-day KPI report reads about one item per day, not every event.

A fresh moto account gets the service table and a seeded history of
``--events`` (50,000) realistic timeline events over ``--days`` (90) closed
days plus a few this morning: tickets arriving, auto-acknowledgements,
assignments, first replies (some late, with their ``sla_breached`` record),
follow-ups, escalations answered or returned, notes, solves and reopenings,
each event with its ``ev_day`` (the events-by-day index). Then:

1. the daily aggregates of the closed days are built (the scheduled job's
   work, once per day in production; here all at once),
2. the report of the whole range is made from the aggregates (ONE Query for
   the closed days, today's events live),
3. the same report is made from every event of the range (no aggregates).

Bytes read (DynamoDB's item size of everything a Query, GetItem or
BatchGetItem returned, counted on the service's DynamoDB client: what
DynamoDB bills), the read capacity units they cost (4 KB rounding), items
and wall time print side by side; the two
reports must be equal. Exits 1 if they differ or the aggregate path reads
more than ``days + 2`` aggregate items (one per day, the last day's backlog
snapshot) plus today's live reads.

    python bench/bench_kpi.py [--events 50000] [--days 90] [--seed 7]

moto answers a key-range Query by walking the whole table (DynamoDB reads
only the key range), which would make the baseline's per-ticket reads take
hours here: ``fast_moto_queries`` narrows moto's walk to the queried
partition (or, for an index, to the items with that index key), leaving
requests and results unchanged. Times are for context; bytes read are the figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.aws_env import REGION, fake_aws_env  # noqa: E402
from bench.ddb_cost import item_size  # noqa: E402

JST = ZoneInfo("Asia/Tokyo")
# Wednesday 2026-04-15 11:00 JST: the 90 days before are closed, this morning is live.
NOW = datetime(2026, 4, 15, 11, 0, tzinfo=JST).astimezone(timezone.utc)
AGENTS = ("sato", "tanaka", "suzuki", "ito", "kato")
CHANNELS = ("form", "email", "line", "slack")
CATEGORIES = ("billing", "shipping", "account", "general", "returns")
DEPARTMENTS = ("warehouse", "billing")


# --- a realistic history ------------------------------------------------------------------


@dataclass
class _Timeline:
    number: int
    events: list[tuple[datetime, str, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, at: datetime, type_: str, actor: str, data: dict[str, Any]) -> datetime:
        last = self.events[-1][0] if self.events else at
        at = max(at, last + timedelta(seconds=1))  # strictly ordered, like the service's ULIDs
        self.events.append((at, type_, actor, data))
        return at


def _ticket_timeline(number: int, created: datetime, customer: str, rng: random.Random) -> tuple[_Timeline, dict]:
    tl = _Timeline(number)
    channel, category = rng.choice(CHANNELS), rng.choice(CATEGORIES)
    cust = f"customer:email:{customer}@example.jp"
    tl.add(created, "message_in", cust, {"channel": channel, "subject": f"お問い合わせ {number}",
                                         "body_text": "注文の配送状況を教えてください", "category": category})
    tl.add(created, "rule_fired", "system",
           {"rule_id": "auto-reply-ticket-created", "actions": [{"type": "auto_reply"}]})
    tl.add(created, "message_out", "system", {"body_text": "受け付けました", "auto_reply": True, "state": "sent"})
    status, assignee, department = "new", None, None
    state: dict[str, Any] = {}
    if rng.random() < 0.9:
        agent = rng.choice(AGENTS)
        at = created + timedelta(minutes=rng.choice([5, 20, 45, 90, 150, 300, 900]) + rng.randrange(30))
        if (at - created) > timedelta(minutes=120):
            tl.add(created + timedelta(minutes=120), "sla_breached", "system:sweep", {
                "metric": "first_reply", "instance": f"first_reply:{created.isoformat().replace('+00:00', 'Z')}",
                "policy": "sla-default", "due_at": None})
        at = tl.add(at, "assigned", f"agent:{agent}", {"field": "assignee", "from": None, "to": agent})
        tl.add(at, "message_out", f"agent:{agent}", {"body_text": "確認いたします", "agent": agent, "agent_name": agent,
                                                     "state": "sent", "channel": channel})
        tl.add(at, "status_changed", f"agent:{agent}", {"field": "status", "from": "new", "to": "open"})
        status, assignee = "open", agent
        if rng.random() < 0.5:
            at = tl.add(at + timedelta(minutes=rng.randrange(60, 1440)), "message_in", cust,
                        {"channel": channel, "body_text": "追加の質問です"})
            at = tl.add(at + timedelta(minutes=rng.randrange(10, 600)), "message_out", f"agent:{agent}",
                        {"body_text": "回答します", "agent": agent, "agent_name": agent, "state": "sent"})
        if rng.random() < 0.15:
            dept = rng.choice(DEPARTMENTS)
            at = tl.add(at + timedelta(minutes=30), "escalated", f"agent:{agent}", {"department": dept})
            tl.add(at, "assigned", f"agent:{agent}", {"field": "department", "from": None, "to": dept})
            department = dept
            if rng.random() < 0.7:
                at = tl.add(at + timedelta(minutes=rng.randrange(30, 300)), "internal_message", "contact:email:x",
                            {"body_text": "回答です"})
                at = tl.add(at, "escalation_answered", "system", {"by": "contact@example.com"})
            else:
                at = tl.add(at + timedelta(minutes=240), "rule_fired", "system:sweep",
                            {"rule_id": "return-unanswered-escalation", "actions": [{"type": "return_to_queue"}]})
                tl.add(at, "assigned", "system:sweep", {"field": "department", "from": dept, "to": "support"})
                department = "support"
        if rng.random() < 0.3:
            at = tl.add(at + timedelta(minutes=rng.randrange(5, 120)), "note", f"agent:{agent}",
                        {"body": "社内メモ", "agent": agent})
        if rng.random() < 0.75:
            at = tl.add(at + timedelta(minutes=rng.randrange(30, 2880)), "status_changed", f"agent:{agent}",
                        {"field": "status", "from": "open", "to": "solved"})
            status = "solved"
            if rng.random() < 0.1:
                at = tl.add(at + timedelta(minutes=rng.randrange(60, 2880)), "message_in", cust,
                            {"channel": channel, "body_text": "まだ解決していません"})
                tl.add(at, "status_changed", "system", {"field": "status", "from": "solved", "to": "open"})
                at = tl.add(at + timedelta(minutes=rng.randrange(30, 1440)), "status_changed", f"agent:{agent}",
                            {"field": "status", "from": "open", "to": "solved"})
    state.update(status=status, assignee=assignee, department=department, channel=channel, category=category)
    return tl, state


def seed_history(events_target: int, days: int, now: datetime = NOW, seed: int = 7,
                 today_tickets: int = 5) -> dict[str, int]:
    """Write tickets, customers and timelines with about ``events_target`` events over the ``days``
    closed days before ``now`` (plus ``today_tickets`` this morning); returns counts."""
    from ulid import ULID

    from chalicelib.domain import Priority
    from chalicelib.kpi.days import day_bounds
    from chalicelib.store import keys
    from chalicelib.store.models import CustomerItem, EventItem, TicketItem

    rng = random.Random(seed)
    first_start, _ = day_bounds((now.astimezone(JST) - timedelta(days=days)).date(), JST)
    today_start, _ = day_bounds(now.astimezone(JST).date(), JST)
    customers = [f"c{n:05d}" for n in range(max(10, events_target // 30))]
    written = Counter()
    with CustomerItem.batch_write() as batch:
        for c in customers:
            batch.save(CustomerItem(keys.customer_pk(c), "CUSTOMER", customer_id=c, name=c, email=f"{c}@example.jp",
                                    created_at=first_start - timedelta(days=400)))
    number = 0
    with TicketItem.batch_write() as tbatch, EventItem.batch_write() as ebatch:
        while written["events"] < events_target or written["today_tickets"] < today_tickets:
            number += 1
            if written["events"] >= events_target:  # this morning, before now
                created = today_start + timedelta(minutes=rng.randrange(int((now - today_start).total_seconds() // 60)))
            else:  # a closed day; mostly office hours, some evenings and nights
                hour = rng.randrange(8, 20) if rng.random() < 0.85 else rng.randrange(24)
                created = first_start + timedelta(days=rng.randrange(days), hours=hour, minutes=rng.randrange(60))
            customer = rng.choice(customers)
            tl, state = _ticket_timeline(number, created, customer, rng)
            kept = [e for e in tl.events if e[0] < now] if created >= today_start else \
                [e for e in tl.events if e[0] < today_start]
            final = "new"
            for at, type_, actor, data in kept:
                event_id = str(ULID.from_datetime(at))
                ebatch.save(EventItem(keys.ticket_pk(number), keys.event_sk(event_id), event_id=event_id, type=type_,
                                      at=at, actor=actor, data=data))
                if type_ == "status_changed":
                    final = data["to"]
                written["events"] += 1
            tbatch.save(TicketItem(
                keys.ticket_pk(number), keys.TICKET_SK, number=number, status=final, priority=Priority.NORMAL.value,
                channel=state["channel"], subject=f"お問い合わせ {number}", category=state["category"],
                customer_id=customer, ticket_customer=customer, created_at=created, updated_at=kept[-1][0],
                assignee=state["assignee"], department=state["department"], sla={"policy": "sla-default"}))
            written["tickets"] += 1
            if created >= today_start:
                written["today_tickets"] += 1
    return dict(written)


# --- measuring ------------------------------------------------------------------------------


@dataclass
class ReadTally:
    """DynamoDB requests and the items they returned, counted on the service's client."""

    requests: Counter[str] = field(default_factory=Counter)
    items: int = 0
    bytes: int = 0
    rcu: float = 0.0
    seconds: float = 0.0

    def after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        """DynamoDB bills reads by size: a Query's items summed then rounded up to 4 KB per request,
        GetItem/BatchGetItem per item (eventually consistent: half a unit per 4 KB)."""
        self.requests[model.name] += 1
        if model.name in ("Query", "Scan"):
            self.items += parsed.get("Count", 0)
            size = sum(item_size(i) for i in parsed.get("Items", []))
            self.bytes += size
            self.rcu += 0.5 * max(1, math.ceil(size / 4096))
        elif model.name == "GetItem":
            self.items += 1 if parsed.get("Item") else 0
            size = item_size(parsed.get("Item") or {})
            self.bytes += size
            self.rcu += 0.5 * max(1, math.ceil(size / 4096))
        elif model.name == "BatchGetItem":
            found = [i for v in (parsed.get("Responses") or {}).values() for i in v]
            self.items += len(found)
            self.bytes += sum(item_size(i) for i in found)
            self.rcu += sum(0.5 * max(1, math.ceil(item_size(i) / 4096)) for i in found)


@contextmanager
def counting() -> Iterator[ReadTally]:
    """Count every request (and the items read) on the client pynamodb uses."""
    from chalicelib.store.models import shared_connection

    tally = ReadTally()
    events = shared_connection().client.meta.events
    events.register("after-call.dynamodb", tally.after)
    started = time.perf_counter()
    try:
        yield tally
    finally:
        tally.seconds = time.perf_counter() - started
        events.unregister("after-call.dynamodb", tally.after)


@contextmanager
def fast_moto_queries() -> Iterator[None]:
    """Let moto's Query walk only the candidate items instead of the whole table, and answer reads
    with plain JSON instead of its generic serializer (see module doc); requests and results unchanged."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    version = [0]
    cache: dict[tuple[int, str], tuple[int, dict[Any, list[Any]]]] = {}
    real_query = Table.query
    writers = ("put_item", "update_item", "delete_item", "transact_write_items")
    real_writers = {name: getattr(DynamoDBBackend, name) for name in writers}

    def bump(real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            version[0] += 1
            return real(*args, **kwargs)
        return wrapper

    def by_attr(table: Table, attr: str) -> dict[Any, list[Any]]:
        key = (id(table), attr)
        hit = cache.get(key)
        if hit is None or hit[0] != version[0]:
            buckets: dict[Any, list[Any]] = {}
            for item in Table.all_items(table):
                value = item.attrs.get(attr)
                if value is not None:
                    buckets.setdefault(value, []).append(item)
            hit = cache[key] = (version[0], buckets)
        return hit[1]

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        conditions = kwargs.get("hash_key_conditions") or []
        if index_name is None and hash_key is not None and self.range_key_attr:
            candidates = list(self.items[hash_key].values()) if hash_key in self.items else []
        elif index_name is not None and len(conditions) == 1:
            attr, value = conditions[0]
            candidates = by_attr(self, attr).get(value, [])
        else:
            return real_query(self, hash_key, *args, **kwargs)
        self.all_items = lambda: list(candidates)  # type: ignore[method-assign]
        try:
            return real_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    real_execute = ActionResult.execute_result

    def execute_result(self: ActionResult, context: Any) -> Any:
        # moto's generic shape-walking serializer costs ~1.5 ms per item; DynamoDB read results are
        # already in wire format, so plain JSON is the same response body.
        if (str(context.service_model.service_name) == "dynamodb" and isinstance(self.result, dict)
                and str(context.operation_model.name) in ("Query", "GetItem", "BatchGetItem")):
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(self.result)
        return real_execute(self, context)

    Table.query = query  # type: ignore[method-assign]
    ActionResult.execute_result = execute_result  # type: ignore[method-assign]
    for name, real in real_writers.items():
        setattr(DynamoDBBackend, name, bump(real))
    try:
        yield
    finally:
        Table.query = real_query  # type: ignore[method-assign]
        ActionResult.execute_result = real_execute  # type: ignore[method-assign]
        for name, real in real_writers.items():
            setattr(DynamoDBBackend, name, real)


def _range(days: int, now: datetime = NOW) -> tuple[date, date]:
    today = now.astimezone(JST).date()
    return today - timedelta(days=days), today


def run(events: int, days: int, seed: int) -> int:
    """Seed, build the aggregates, report both ways; print the figures. Returns the exit code."""
    fake_aws_env()
    import boto3
    from moto import mock_aws

    with mock_aws(), fast_moto_queries():
        from chalicelib.services import kpis
        from chalicelib.store import schema

        schema.create_table(boto3.client("dynamodb", region_name=REGION), os.environ["HELPDESK_TABLE"])
        started = time.perf_counter()
        written = seed_history(events, days, NOW, seed)
        seeded_s = time.perf_counter() - started
        first, last = _range(days)
        print(f"seeded {written['events']:,} events of {written['tickets']:,} tickets over {days} closed days "
              f"+ {written.get('today_tickets', 0)} tickets this morning in {seeded_s:.1f} s")

        with counting() as build:  # what the hourly job does: the closed days, then today's so far
            kpis.ensure_days(first, last - timedelta(days=1), NOW, kpis.Reads())
            kpis.aggregate_recent(NOW, days=1)
        with counting() as agg:
            from_aggregates = kpis.report(first, last, NOW)
        with counting() as naive:
            from_events = kpis.report_from_events(first, last, NOW)

    same = all(from_aggregates[k] == from_events[k] for k in ("totals", "backlog", "escalations"))
    agg_items = sum(from_aggregates["source"]["reads"].get(k, 0) for k in ("aggregates", "backlog_snapshot"))
    live_items = from_aggregates["source"]["items_read"] - agg_items
    width = 44
    print(f"\n{'':{width}} {'aggregates':>14} {'every event':>14} {'ratio':>8}")
    print(f"{'bytes read (DynamoDB item size; billed)':{width}} {agg.bytes:>14,} {naive.bytes:>14,} "
          f"{naive.bytes / max(agg.bytes, 1):>7.0f}x")
    print(f"{'read capacity units (4 KB rounding)':{width}} {agg.rcu:>14,.1f} {naive.rcu:>14,.1f} "
          f"{naive.rcu / max(agg.rcu, 0.5):>7.0f}x")
    print(f"{'items read (context)':{width}} {agg.items:>14,} {naive.items:>14,} "
          f"{naive.items / max(agg.items, 1):>7.0f}x")
    print(f"{'requests':{width}} {sum(agg.requests.values()):>14,} {sum(naive.requests.values()):>14,} "
          f"{sum(naive.requests.values()) / max(sum(agg.requests.values()), 1):>7.0f}x")
    print(f"{'wall time (s, moto)':{width}} {agg.seconds:>14.2f} {naive.seconds:>14.2f} "
          f"{naive.seconds / max(agg.seconds, 1e-9):>7.0f}x")
    print(f"\naggregate path: {agg_items} aggregate items for {days} closed days and today so far "
          f"(one per day + the last day's backlog snapshot), "
          f"{live_items} items of today's live events; requests {dict(agg.requests)}")
    print(f"every-event path: reads by purpose {from_events['source']['reads']}")
    print(f"building the {days} daily aggregates (the job's work, once per day in production): "
          f"{build.items:,} items read, {sum(build.requests.values()):,} requests, {build.seconds:.1f} s "
          f"({build.seconds / days:.2f} s per day)")
    tot = from_aggregates["totals"]
    print(f"report: {tot['tickets_created']:,} tickets, first response median "
          f"{tot['first_response']['business']['median']} business min, SLA attainment {tot['sla_attainment']}, "
          f"backlog {from_aggregates['backlog']['total']}; identical from both paths: {same}")
    bounded = agg_items <= days + 2
    if not same:
        for key in ("totals", "backlog", "escalations"):
            a, b = from_aggregates[key], from_events[key]
            for field in sorted(set(a) | set(b) if isinstance(a, dict) else [key]):
                left, right = (a.get(field), b.get(field)) if isinstance(a, dict) else (a, b)
                if left != right:
                    print(f"  differs: {key}.{field}: aggregates {left!r} vs every event {right!r}")
        print(f"  pending days: {from_aggregates.get('pending')!r}")
    if not same or not bounded:
        print("FAIL: " + ("reports differ" if not same else f"{agg_items} aggregate items for {days} days"))
        return 1
    return 0


def main() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    return run(args.events, args.days, args.seed)


if __name__ == "__main__":
    sys.exit(main())
