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

import math

import boto3
import pytest

from bench.bench_sweep import NOTIFY_FROM, NOW, due_index_entries, load
from bench.ddb_cost import Tally, counting
from chalicelib.services import sweep as sweep_service
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

    # One query per due-index shard, then a fixed amount of work per due ticket (batched reads of the
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


@pytest.mark.parametrize("workers", [1, 10])
def test_due_tickets_are_read_in_batches_not_one_by_one(aws, workers):
    """60 due tickets: their headers and customers are read with two BatchGetItem per worker task
    (at most ``READ_BATCH`` tickets each, fewer so every worker gets a share), never a GetItem per
    ticket (the sweep used to make 2 GetItem per ticket: 120 here)."""
    boto3.client("ses", region_name=aws["region"]).verify_email_identity(EmailAddress=NOTIFY_FROM)
    due = 60
    loaded = load(0, due)
    with counting() as tally:
        report = sweep(NOW, workers=workers)
    assert sorted(report.due_tickets) == loaded.due_numbers and report.failed == []
    size = min(sweep_service.READ_BATCH, math.ceil(due / workers))
    tasks = math.ceil(due / size)
    assert tally.ops["GetItem"] == 0
    assert tally.ops["BatchGetItem"] == 2 * tasks  # headers, then their customers
    assert tally.ops["TransactWriteItems"] == due + tally.ses
    for number in loaded.due_numbers[:3]:
        assert [e.data["metric"] for e in get_timeline(number) if e.type == "sla_breached"] == ["first_reply"]


def test_a_ticket_changed_after_the_batched_read_is_swept_from_a_fresh_read(aws, monkeypatch):
    """The batch is read before its tickets are handled: a ticket changed in between fails the
    conditional commit, is read again and swept once from what is stored now."""
    from chalicelib.store import tickets

    boto3.client("ses", region_name=aws["region"]).verify_email_identity(EmailAddress=NOTIFY_FROM)
    loaded = load(0, 2)
    first = loaded.due_numbers[0]
    real = tickets.headers_with_customers

    def read_then_someone_changes_it(numbers):
        found = real(numbers)
        if first in numbers:
            header = tickets.get_ticket(first)
            header.tags = {"changed-meanwhile"}
            header.save()
        return found

    monkeypatch.setattr(tickets, "headers_with_customers", read_then_someone_changes_it)
    with counting() as tally:
        report = sweep(NOW, workers=1)
    assert report.failed == [] and sorted(report.due_tickets) == loaded.due_numbers
    # this test's own read to change it, then the retry's fresh reads of the ticket and its customer
    assert tally.ops["GetItem"] == 1 + 2
    breaches = [e for e in get_timeline(first) if e.type == "sla_breached"]
    assert [b.data["metric"] for b in breaches] == ["first_reply"]
    assert "changed-meanwhile" in tickets.get_ticket(first).tags  # the change was not overwritten
