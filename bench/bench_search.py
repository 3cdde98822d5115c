"""Benchmark: ticket search (``GET /tickets?q=``) costs the same few DynamoDB requests at 10,000 and
100,000 tickets.

For each size a fresh moto account gets the service table and that many ticket headers (one
customer per five tickets, each customer with an email and a LINE identity), one tag per ticket
(``tag-<n % 100>``: 1 % of the tickets each) and the subject postings the ticket commit writes
(``store.search``). Then the service's own search (``services.search.find``, what the route calls)
runs by customer email, by LINE identity, by tag, by subject words and by number, with every
DynamoDB request of the shared pynamodb client counted. Side by side: the requests a Scan with a
filter would need for the same answer (the table's size / 1 MB per Scan page, DynamoDB's limit).

    python bench/bench_search.py [--sizes 10000 100000]

Exits 1 when a search's request count differs between sizes, exceeds its bound, or a Scan happens.
Wall times are for context only (moto walks the whole table for a GSI query; DynamoDB does not).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import aws_env  # noqa: E402
from bench.aws_env import REGION  # noqa: E402
from bench.ddb_cost import counting, item_size  # noqa: E402

START = datetime(2026, 1, 5, 0, 0, tzinfo=timezone.utc)
PER_CUSTOMER = 5
BOUNDS = {"email": 3, "line": 3, "tag": 2, "text": 3, "number": 1}  # requests per search, at any size
PAGE = 1024 * 1024


def load(size: int) -> int:
    """Write ``size`` tickets with customers, identities and postings; returns the table's bytes."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.domain import Priority, Status
    from chalicelib.settings import get_settings
    from chalicelib.store import keys, search
    from chalicelib.store.customers import CUSTOMER_SK, IDENTITY_SK
    from chalicelib.store.models import CustomerItem, IdentityItem, SearchItem, TicketItem

    # Loading is not what is measured: items go straight into moto's table (no HTTP round trip each).
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(get_settings().table_name)
    total = 0
    if True:
        for c in range(size // PER_CUSTOMER):
            cid = f"01BENCH{c:019d}"
            email, line = f"customer{c}@example.jp", f"U{c:032x}"
            items = [CustomerItem(keys.customer_pk(cid), CUSTOMER_SK, customer_id=cid, name=f"顧客 {c}", email=email,
                                  created_at=START)]
            for kind, value in (("email", email), ("line", line)):
                items.append(IdentityItem(keys.identity_pk(kind, value), IDENTITY_SK, customer_id=cid, kind=kind,
                                          value=value))
                items.append(IdentityItem(keys.customer_pk(cid), f"{IDENTITY_SK}#{keys.identity_key(kind, value)}",
                                          customer_id=cid, kind=kind, value=value))
            for k in range(PER_CUSTOMER):
                number = c * PER_CUSTOMER + k + 1
                created = START + timedelta(seconds=number * 30)
                ticket = TicketItem(keys.ticket_pk(number), keys.TICKET_SK, number=number, status=Status.OPEN.value,
                                    priority=Priority.NORMAL.value, channel="form",
                                    subject=f"配送 {'遅延' if number % 10 == 0 else '確認'} {number}",
                                    customer_id=cid, ticket_customer=cid, customer_name=f"顧客 {c}",
                                    customer_email=email, tags={f"tag-{number % 100}"}, created_at=created,
                                    updated_at=created, version=1)
                items.append(ticket)
                for term in [search.tag_term(f"tag-{number % 100}"), *search.subject_terms(ticket.subject)]:
                    items.append(SearchItem(f"{search.PREFIX}{term}", f"{created.isoformat()}#{number:012d}",
                                            ticket_id=number))
            for item in items:
                attrs = item.serialize()
                table.put_item(attrs)
                total += item_size(attrs)
    return total


def measure(size: int) -> dict[str, tuple[int, int, float, bool]]:
    """Per search kind: (requests, tickets found, seconds, any Scan)."""
    from chalicelib.services import search

    c = (size // PER_CUSTOMER) // 2
    queries = {"email": f"customer{c}@example.jp", "line": f"line:U{c:032x}", "tag": "tag:tag-42",
               "text": "配送 遅延", "number": f"#{size // 2}"}
    out = {}
    for kind, query in queries.items():
        with counting() as tally:
            started = time.perf_counter()
            found_kind, found = search.find(query, {}, 25)
            seconds = time.perf_counter() - started
        assert found_kind == kind, (kind, found_kind)
        assert found, f"{kind}: nothing found"
        out[kind] = (tally.total, len(found), seconds, "Scan" in tally.ops)
    return out


def run(size: int) -> tuple[dict[str, tuple[int, int, float, bool]], int, float]:
    import boto3
    from moto import mock_aws

    from chalicelib.store import schema

    with mock_aws():
        from chalicelib.settings import get_settings

        schema.create_table(boto3.client("dynamodb", region_name=REGION), get_settings().table_name)
        started = time.perf_counter()
        table_bytes = load(size)
        loaded = time.perf_counter() - started
        return measure(size), table_bytes, loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    aws_env.fake_aws_env()
    results = {}
    for size in args.sizes:
        results[size] = run(size)
        print(f"loaded {size:,} tickets ({results[size][1] / PAGE:.1f} MB) in {results[size][2]:.0f} s", flush=True)
    sizes = args.sizes
    print(f"\n{'search':8}" + "".join(f"{f'requests @{s:,}':>18}{f'Scan would @{s:,}':>20}" for s in sizes)
          + f"{'ratio':>8}  {'found':>6}  seconds (moto)")
    failed = False
    for kind in BOUNDS:
        counts = [results[s][0][kind][0] for s in sizes]
        scans = [max(1, -(-results[s][1] // PAGE)) for s in sizes]
        line = f"{kind:8}" + "".join(f"{n:>18}{sc:>20}" for n, sc in zip(counts, scans, strict=True))
        line += f"{counts[-1] / counts[0]:>8.2f}  {results[sizes[-1]][0][kind][1]:>6}  "
        line += " / ".join(f"{results[s][0][kind][2]:.3f}" for s in sizes)
        print(line)
        if len(set(counts)) != 1 or counts[-1] > BOUNDS[kind] or any(results[s][0][kind][3] for s in sizes):
            failed = True
            print(f"  FAIL: {kind} requests {counts} (bound {BOUNDS[kind]}) or a Scan")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
