"""Benchmark: DynamoDB cost of one per-minute sweep does not grow with the open backlog.

For each backlog size (default 1,000 and 10,000 open tickets) a fresh moto
account gets the service table, the backlog (open tickets whose next deadline
is far ahead: in the due index, not due) and 10 tickets created the previous
business morning whose first-reply SLA is breached (due now). Then ONE sweep
runs at ``NOW`` with every DynamoDB request of the shared pynamodb client
counted by operation, the items the due-index queries read (``Count`` /
``ScannedCount``) and an estimate of the read/write capacity DynamoDB would
charge (from item sizes, DynamoDB's 4 KB read / 1 KB write rounding). A second
sweep at the same minute must find nothing and write nothing.

    python bench/bench_sweep.py [--sizes 1000 10000] [--due 10] [--moto-deepcopy]

Figures for all sizes print side by side with the ratio largest/smallest.
Exits 1 when any per-operation request count or index read differs between
sizes, any Scan happens, a due ticket did not get its breach, or the repeated
sweep writes. Wall times are printed for context only: moto evaluates a GSI
query by walking the whole table, so its time grows with the backlog although
DynamoDB's (a key-range read of the index) would not. moto's whole-table
copy per transaction item is replaced by the local stand-in's key-level
rollback (``infra.moto_standin.key_level_rollback``, the same tested mechanism
``make run`` uses; ``--moto-deepcopy`` keeps moto's own), which leaves every
request and result as it was.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import aws_env  # noqa: E402
from bench.aws_env import REGION  # noqa: E402
from bench.ddb_cost import Tally, counting  # noqa: E402
from infra.moto_standin import key_level_rollback  # noqa: E402

JST = ZoneInfo("Asia/Tokyo")
# Wednesday 2026-01-14 11:00 JST, a business minute on the jp-office calendar.
NOW = datetime(2026, 1, 14, 11, 0, tzinfo=JST).astimezone(timezone.utc)
# Due tickets arrived Tuesday 09:40 JST and were opened at 09:45: normal priority,
# first reply due after 120 business minutes (Tue 11:40 JST), breached by NOW.
DUE_CREATED = datetime(2026, 1, 13, 9, 40, tzinfo=JST).astimezone(timezone.utc)
DUE_OPENED = DUE_CREATED + timedelta(minutes=5)
FAR_AHEAD = timedelta(days=30)
CUSTOMER_POOL = 200
NOTIFY_FROM = "helpdesk@example.com"


def fake_aws_env() -> dict[str, str]:
    """Fake credentials, no endpoint override, the stage's table names and the notification sender."""
    return aws_env.fake_aws_env(NOTIFY_EMAIL_FROM=NOTIFY_FROM)


# --- building realistic tickets -------------------------------------------------------------


def customer_item(n: int, created_at: datetime) -> Any:
    """A customer like ``customers.find_or_create_customer`` makes (deterministic id)."""
    from chalicelib.store import keys
    from chalicelib.store.customers import CUSTOMER_SK
    from chalicelib.store.models import CustomerItem

    customer_id = f"01BENCH{n:019d}"
    return CustomerItem(keys.customer_pk(customer_id), CUSTOMER_SK, customer_id=customer_id,
                        name=f"顧客 {n}", email=f"customer{n}@example.jp", created_at=created_at)


def open_ticket(number: int, customer: Any, created_at: datetime, opened_at: datetime) -> Any:
    """An open, normal-priority ticket header as ``tickets.create_ticket`` builds it, opened by an agent
    at ``opened_at``, with its SLA snapshot and due-index attributes computed by the real evaluation."""
    from chalicelib.domain import Priority, Status
    from chalicelib.services.document import customer_fields, document
    from chalicelib.services.evaluate import metrics_for, schedule
    from chalicelib.services.runtime import get_runtime
    from chalicelib.sla.clocks import iso_z
    from chalicelib.store import changes, keys
    from chalicelib.store.models import TicketItem

    ticket = TicketItem(
        keys.ticket_pk(number),
        keys.TICKET_SK,
        number=number,
        status=Status.OPEN.value,
        priority=Priority.NORMAL.value,
        channel="form",
        subject=f"注文 A-{number:05d} の配送状況について",
        category="general",
        customer_id=customer.customer_id,
        ticket_customer=customer.customer_id,
        customer_name=customer.name,
        customer_email=customer.email,
        created_at=created_at,
        updated_at=opened_at,
        last_customer_message_at=created_at,
    )
    fields = changes.ticket_fields(ticket)
    fields["sla"] = {"status_log": [[iso_z(created_at), Status.NEW.value], [iso_z(opened_at), Status.OPEN.value]]}
    runtime, cust = get_runtime(), customer_fields(customer)
    policy_id, metrics = metrics_for(fields, runtime, document(fields, cust, {}, opened_at), opened_at)
    schedule(fields, runtime, document(fields, cust, metrics, opened_at), policy_id, metrics, opened_at)
    changes.apply_fields(ticket, fields, opened_at)
    ticket.version = 1
    return ticket


@dataclass
class Loaded:
    """What ``load`` wrote."""

    backlog: int
    due_numbers: list[int]
    seconds: float


def load(backlog: int, due: int, now: datetime = NOW, seed: int = 7) -> Loaded:
    """Bulk-load ``backlog`` open tickets that are not due (next deadline 30+ days after ``now``) and
    ``due`` tickets whose first reply is breached at ``now``, with their customers (BatchWriteItem)."""
    from chalicelib.settings import get_settings
    from chalicelib.store import keys
    from chalicelib.store.models import CustomerItem, TicketItem

    started = time.perf_counter()
    shards = get_settings().due_shards
    rng = random.Random(seed)
    due_created = DUE_CREATED + (now - NOW)
    due_opened = DUE_OPENED + (now - NOW)
    pool = [customer_item(n, now - timedelta(days=400)) for n in range(CUSTOMER_POOL)]
    # A handful of templates evaluated for real (arrived 10-60 minutes before now), each cloned
    # across the backlog with its own number, customer, subject and a far due time.
    templates = [open_ticket(0, pool[0], now - timedelta(minutes=m), now - timedelta(minutes=m - 5))
                 for m in (10, 20, 30, 45, 60)]
    far = int((now + FAR_AHEAD).timestamp())
    with CustomerItem.batch_write() as batch:
        for c in pool:
            batch.save(c)
    with TicketItem.batch_write() as batch:
        for number in range(1, backlog + 1):
            t = TicketItem(**{**rng.choice(templates).attribute_values})
            c = pool[rng.randrange(CUSTOMER_POOL)]
            t.pk, t.number, t.subject = f"TICKET#{number}", number, f"注文 A-{number:05d} の配送状況について"
            t.customer_id = t.ticket_customer = c.customer_id
            t.customer_name, t.customer_email = c.name, c.email
            t.next_due_at = far + rng.randrange(7 * 86400)
            t.due_shard = keys.due_shard(number, shards)
            batch.save(t)
    due_numbers = list(range(backlog + 1, backlog + due + 1))
    with TicketItem.batch_write() as batch:
        for i, number in enumerate(due_numbers):
            c = customer_item(CUSTOMER_POOL + i, due_created - timedelta(days=30))
            batch.save(c)
            t = open_ticket(number, c, due_created, due_opened)
            if t.next_due_at is None or t.next_due_at > now.timestamp():
                raise RuntimeError(f"ticket {number} was meant to be due at {now} but is due at {t.next_due_at}")
            batch.save(t)
    return Loaded(backlog, due_numbers, time.perf_counter() - started)


# --- one run per size -----------------------------------------------------------------------


@dataclass
class Result:
    """One backlog size: load, first sweep, repeated sweep."""

    loaded: Loaded
    first: Tally
    repeat: Tally
    due_found: int
    fired: int
    failed: int
    breached: int
    table_seconds: float
    index_entries: int


def fresh_table() -> float:
    """Create the service table (and a verified SES sender) in the current moto account."""
    import boto3

    from chalicelib.store import raw, schema
    from plugins import notify_ses

    started = time.perf_counter()
    raw.reset_clients()
    if hasattr(notify_ses, "reset_clients"):
        notify_ses.reset_clients()
    schema.create_table(boto3.client("dynamodb", region_name=REGION), os.environ["HELPDESK_TABLE"])
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=NOTIFY_FROM)
    return time.perf_counter() - started


def breach_recorded(number: int) -> bool:
    from chalicelib.store.tickets import get_timeline

    return any(e.type == "sla_breached" and (e.data or {}).get("metric") == "first_reply"
               for e in get_timeline(number))


def due_index_entries() -> int:
    """Entries in the due index over all shards (counted outside the measured sweep)."""
    from chalicelib.settings import get_settings
    from chalicelib.store import keys
    from chalicelib.store.models import TicketItem

    return sum(TicketItem.due.count(keys.due_shard_key(s)) for s in range(get_settings().due_shards))


def run_size(backlog: int, due: int) -> Result:
    from moto import mock_aws

    from chalicelib.services.sweep import sweep

    with mock_aws():
        table_seconds = fresh_table()
        loaded = load(backlog, due)
        entries = due_index_entries()
        with counting() as first:
            report = sweep(NOW)
        with counting() as repeat:
            again = sweep(NOW)
        assert not again.fired, again
        breached = sum(breach_recorded(n) for n in loaded.due_numbers)
        return Result(loaded, first, repeat, len(report.due_tickets), len(report.fired), len(report.failed),
                      breached, table_seconds, entries)


def render(results: list[Result]) -> tuple[str, list[str]]:
    """The side-by-side table and the list of failed checks."""
    small, big = results[0], results[-1]
    ops = sorted(set().union(*(r.first.ops for r in results), *(r.repeat.ops for r in results)))
    ratio = f"ratio {big.loaded.backlog:,}/{small.loaded.backlog:,}"
    head = ["", *[f"{r.loaded.backlog:,} open" for r in results], ratio]
    rows: list[list[str]] = []

    def row(label: str, values: list[float], fmt: str = "{:,.0f}", ratio: bool = True) -> None:
        a, b = values[0], values[-1]
        r = (f"{b / a:.2f}" if a else ("1.00" if b == a else "inf")) if ratio else ""
        rows.append([label, *[fmt.format(v) for v in values], r])

    row("due-index entries before the sweep", [r.index_entries for r in results])
    blank = [""] * (len(results) + 1)
    rows.append(["first sweep at NOW", *blank])
    for op in ops:
        row(f"  {op}", [r.first.ops.get(op, 0) for r in results])
    row("  total DynamoDB requests", [r.first.total for r in results])
    row("  of which writes", [r.first.writes for r in results])
    row("  due-index items read (Count)", [r.first.index_count for r in results])
    row("  due-index items scanned (ScannedCount)", [r.first.index_scanned for r in results])
    row("  est. read capacity units", [r.first.est_rcu for r in results], "{:,.1f}")
    row("  est. write capacity units, table", [r.first.est_wcu for r in results], "{:,.1f}")
    row("  est. write capacity units, indexes", [r.first.est_index_wcu for r in results], "{:,.1f}")
    row("  est. write capacity units, total", [r.first.est_wcu + r.first.est_index_wcu for r in results],
        "{:,.1f}")
    row("  Scan requests", [r.first.ops.get("Scan", 0) for r in results])
    row("  due tickets found", [r.due_found for r in results])
    row("  firings recorded", [r.fired for r in results])
    row("  tickets with sla_breached event", [r.breached for r in results])
    row("  SES sends (manager notified)", [r.first.ses for r in results])
    row("  sweep wall time, s (moto; context only)", [r.first.seconds for r in results], "{:.3f}")
    # the sweep's workers overlap, so request times are summed over threads and can exceed the wall time
    row("  time in moto Query, s (walks the table; all threads)", [r.first.op_seconds["Query"] for r in results],
        "{:.3f}")
    row("  time in moto TransactWriteItems, s (all threads)",
        [r.first.op_seconds["TransactWriteItems"] for r in results], "{:.3f}")
    rows.append(["repeat sweep at NOW", *blank])
    row("  total DynamoDB requests", [r.repeat.total for r in results])
    row("  of which writes", [r.repeat.writes for r in results])
    rows.append(["setup (not measured)", *blank])
    row("  create table, s", [r.table_seconds for r in results], "{:.2f}", ratio=False)
    row("  bulk-load tickets+customers, s", [r.loaded.seconds for r in results], "{:.2f}", ratio=False)

    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths, strict=True)))
             for x in [head, *rows]]
    lines.insert(1, "-" * len(lines[0]))

    failures = []
    for r in results:
        n, due = r.loaded.backlog, len(r.loaded.due_numbers)
        if r.first.ops.get("Scan") or r.repeat.ops.get("Scan"):
            failures.append(f"{n}: a Scan happened")
        if (r.due_found, r.breached, r.failed) != (due, due, 0) or r.fired < due:
            failures.append(f"{n}: {r.due_found} due found, {r.breached} breaches recorded, {r.fired} firings,"
                            f" {r.failed} failed (expected {due}, {due}, >= {due}, 0)")
        if r.first.index_scanned != due:
            failures.append(f"{n}: due-index queries scanned {r.first.index_scanned} items, expected {due}")
        if r.repeat.writes:
            failures.append(f"{n}: the repeated sweep wrote {r.repeat.writes} times")
    for r in results[1:]:
        for label, a, b in (("first sweep requests", small.first.ops, r.first.ops),
                            ("repeat sweep requests", small.repeat.ops, r.repeat.ops)):
            if a != b:
                failures.append(f"{label} differ: {small.loaded.backlog}: {dict(a)} vs {r.loaded.backlog}: {dict(b)}")
    return "\n".join(lines), failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--due", type=int, default=10)
    parser.add_argument("--moto-deepcopy", action="store_true",
                        help="keep moto's whole-table copy per transaction item (slow: minutes at 10,000)")
    args = parser.parse_args(argv)
    fake_aws_env()
    import logging

    logging.disable(logging.INFO)  # the sweep logs one line per run; effects log per notification
    started = time.perf_counter()
    with nullcontext() if args.moto_deepcopy else key_level_rollback():
        run_size(20, args.due)  # warm-up, not reported: rules, templates, plugins and clients load once
        results = [run_size(n, args.due) for n in sorted(args.sizes)]
    table, failures = render(results)
    from chalicelib.settings import get_settings

    shards = get_settings().due_shards
    print(f"One sweep at {NOW:%Y-%m-%d %H:%M} UTC over N open tickets, {args.due} of them due "
          f"(first reply breached); {shards} due-index shards; fresh moto account per size"
          f"{'' if args.moto_deepcopy else '; moto transactions roll back by key (see docstring)'}.")
    print(table)
    print(f"total runtime {time.perf_counter() - started:.1f} s")
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print("OK: per-operation request counts and due-index reads are identical at every backlog size; no Scan.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
