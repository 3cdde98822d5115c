"""The per-minute sweep's DynamoDB cost does not grow with the open backlog.

Same property as ``bench/bench_sweep.py`` (1,000 vs 10,000 open tickets) at
test sizes: 50 vs 500 open tickets that are in the due index but not due, plus
3 whose first reply is breached. Every request on the service's DynamoDB
client is counted by operation; the counts must be identical, with no Scan,
the due-index queries must read only the due entries, each due ticket gets its
breach recorded, and a second sweep at the same minute writes nothing.
Request counts, not timings: nothing here depends on the machine's speed.
"""

from __future__ import annotations

import boto3

from bench.bench_sweep import NOTIFY_FROM, NOW, due_index_entries, load
from bench.ddb_cost import Tally, counting
from chalicelib.services.sweep import sweep
from chalicelib.settings import get_settings
from chalicelib.store import schema
from chalicelib.store.tickets import get_timeline

DUE = 3


def _sweep_twice(aws: dict[str, str], backlog: int) -> tuple[Tally, Tally, list[int]]:
    """A fresh table with ``backlog`` open tickets and ``DUE`` due ones; counts of a sweep and its repeat."""
    dynamodb = boto3.client("dynamodb", region_name=aws["region"])
    dynamodb.delete_table(TableName=aws["table"])
    schema.create_table(dynamodb, aws["table"])
    loaded = load(backlog, DUE)
    assert due_index_entries() == backlog + DUE  # the backlog is in the index, just not due

    with counting() as first:
        report = sweep(NOW)
    assert sorted(report.due_tickets) == loaded.due_numbers
    assert report.failed == []
    assert len(report.fired) >= DUE  # at least the built-in first-reply breach record of each

    with counting() as repeat:
        again = sweep(NOW)
    assert again.due_tickets == [] and again.fired == []

    for number in loaded.due_numbers:
        breaches = [e for e in get_timeline(number) if e.type == "sla_breached"]
        assert [b.data["metric"] for b in breaches] == ["first_reply"], number
    return first, repeat, loaded.due_numbers


def test_sweep_requests_do_not_grow_with_the_backlog(aws):
    boto3.client("ses", region_name=aws["region"]).verify_email_identity(EmailAddress=NOTIFY_FROM)
    shards = get_settings().due_shards

    small, small_repeat, _ = _sweep_twice(aws, 50)
    large, large_repeat, _ = _sweep_twice(aws, 500)

    # One query per due-index shard, then a fixed amount of work per due ticket (reads of the
    # ticket and its customer, one transaction, the notification, written leased and recorded sent
    # with its timeline event in one more transaction): the same at both sizes.
    assert dict(large.ops) == dict(small.ops), (dict(small.ops), dict(large.ops))
    assert small.ops["Query"] == large.ops["Query"] == shards
    assert small.ops["Scan"] == large.ops["Scan"] == 0
    assert small.ses >= DUE
    assert small.ops["TransactWriteItems"] == DUE + small.ses
    assert small.ops["UpdateItem"] == small.ops["PutItem"] == 0, "no claim, no separate timeline write"
    assert small.index_scanned == large.index_scanned == DUE
    assert small.index_count == large.index_count == DUE
    assert small.ses == large.ses

    # The same minute again: the breached tickets left the due window, nothing is read or written twice.
    assert dict(small_repeat.ops) == dict(large_repeat.ops) == {"Query": shards}
    assert small_repeat.writes == large_repeat.writes == 0
