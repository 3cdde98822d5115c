"""Due tickets in the local stand-in (``infra.moto_standin``, what ``make run`` uses), and sweeps over them.

Used by ``bench/bench_sweep_parallel.py`` (in its own process) and by
``tests/functional/test_sweep_parallel.py`` (each sweep in its own process, as two
overlapping Lambda invocations run): moto is not thread-safe, the stand-in is
(serialised requests, key-level transaction rollback), so threaded sweeps talk to
it over HTTP exactly as the product talks to DynamoDB.

    python -m bench.sweep_standin ENDPOINT load --due 40
    python -m bench.sweep_standin ENDPOINT sweep --workers 8 [--start-at EPOCH] [--latency-ms 5]
    python -m bench.sweep_standin ENDPOINT verify --first N --last M

Each command prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import latency, requests_count  # noqa: E402 - hooks on every client made from here on
from bench.aws_env import REGION  # noqa: E402
from bench.bench_sweep import NOTIFY_FROM, NOW, fake_aws_env  # noqa: E402


def use_endpoint(url: str) -> None:
    """Fake credentials and every client pointed at the stand-in at ``url`` (before any client exists)."""
    fake_aws_env()
    os.environ["AWS_ENDPOINT_URL"] = url


def fresh_table() -> None:
    """(Re)create the service table and verify the notification sender, in the stand-in."""
    import boto3

    from chalicelib.store import schema

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = os.environ["HELPDESK_TABLE"]
    if table in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=table)
    schema.create_table(dynamodb, table)
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=NOTIFY_FROM)


def ses_sent() -> int:
    """How many messages the stand-in's SES accepted so far (all senders)."""
    import boto3

    return int(boto3.client("ses", region_name=REGION).get_send_quota()["SentLast24Hours"])


def load_due(due: int) -> list[int]:
    """A fresh table holding ``due`` tickets whose first reply is breached at ``NOW``; their numbers."""
    from bench.bench_sweep import load

    fresh_table()
    return load(0, due).due_numbers


def run_sweep(workers: int, latency_s: float = 0.0) -> dict[str, Any]:
    """One sweep at ``NOW`` with ``workers`` threads: its report, wall time and requests by operation."""
    from chalicelib.services.sweep import sweep

    with requests_count.count_requests() as counted, latency.injected(latency_s):
        started = time.perf_counter()
        report = sweep(NOW, workers=workers)
        seconds = time.perf_counter() - started
    return {"due": len(report.due_tickets), "fired": len(report.fired), "failed": report.failed,
            "workers": report.workers, "seconds": seconds, "requests": counted.total, "ops": dict(counted.ops),
            "ses": counted.other.get("ses.SendEmail", 0) + counted.other.get("ses.SendRawEmail", 0)}


def verify(numbers: list[int]) -> dict[str, Any]:
    """Per ticket: ``sla_breached`` events on its timeline; and the outbox items and their states."""
    from chalicelib.store.models import OutboxItem
    from chalicelib.store.tickets import get_timeline

    breaches = {n: sum(1 for e in get_timeline(n) if e.type == "sla_breached") for n in numbers}
    outbox = [o for o in OutboxItem.scan() if o.sk == "OUTBOX"]
    states: dict[str, int] = {}
    for o in outbox:
        states[o.outbox_state] = states.get(o.outbox_state, 0) + 1
    return {"breaches": {str(k): v for k, v in breaches.items()}, "outbox": len(outbox), "states": states,
            "ses_sent": ses_sent()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("load").add_argument("--due", type=int, default=40)
    sweep = sub.add_parser("sweep")
    sweep.add_argument("--workers", type=int, default=8)
    sweep.add_argument("--start-at", type=float, default=0.0, help="wall-clock epoch second to start at")
    sweep.add_argument("--latency-ms", type=float, default=0.0)
    check = sub.add_parser("verify")
    check.add_argument("--first", type=int, required=True)
    check.add_argument("--last", type=int, required=True)
    args = parser.parse_args(argv)
    use_endpoint(args.endpoint)
    logging.disable(logging.INFO)
    if args.cmd == "load":
        out: dict[str, Any] = {"numbers": load_due(args.due)}
    elif args.cmd == "sweep":
        from chalicelib.services.sweep import sweep as _warm  # noqa: F401 - import before the start line

        time.sleep(max(0.0, args.start_at - time.time()))
        started = time.time()
        out = {**run_sweep(args.workers, args.latency_ms / 1000), "started": started, "ended": time.time()}
    else:
        out = verify(list(range(args.first, args.last + 1)))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
