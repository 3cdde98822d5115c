"""DynamoDB requests per user-facing path, counted at the client with botocore event hooks
(``bench.requests_count``), against the targets of issue 15 (``bench.paths.TARGETS``).

Each path runs once through ``chalice.test.Client`` in a fresh moto account
(``bench.paths``, the same code ``make bench`` prints). Every path meets its
target; the tests below also pin how each path spends its requests.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench.paths import PATHS, TARGETS, stack


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    saved = dict(os.environ)
    out = {}
    try:
        for name, fn in PATHS.items():
            with stack() as client:
                out[name] = fn(client)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return out


@pytest.mark.parametrize("path", list(TARGETS))
def test_path_meets_its_request_target(measured, path):
    tally = measured[path]
    assert tally.total <= TARGETS[path], dict(tally.ops)


def test_warm_authentication_reads_nothing(measured):
    assert measured["agent request auth (warm)"].ops.get("GetItem", 0) == 0


def test_agent_reply_reads_each_thing_once(measured):
    """Header + timeline in one Query, customer + identities in one Query, the commit (with the
    in-flight marker) and the send record (event, references, marker gone) one transaction each."""
    ops = measured["agent reply"].ops
    assert ops.get("GetItem", 0) == 0 and ops.get("PutItem", 0) == 0 and ops.get("DeleteItem", 0) == 0, dict(ops)
    assert ops["Query"] == 2 and ops["TransactWriteItems"] == 2, dict(ops)


def test_patch_assignee_reads_the_new_assignee_once_and_claims_nothing(measured):
    """Ticket, customer, the new assignee (recipient and template share one read); the commit
    writes the notification already leased, so the fast path neither re-reads nor claims it; the
    delivery and its timeline event are one transaction."""
    ops = measured["PATCH assignee"].ops
    assert ops["GetItem"] == 3 and ops["TransactWriteItems"] == 2, dict(ops)
    assert not ops.get("BatchGetItem") and not ops.get("UpdateItem") and not ops.get("PutItem"), dict(ops)
    assert measured["PATCH assignee"].other == {"ses.SendEmail": 1}


INGEST = ("form ingest, new ticket", "email joining a ticket")


@pytest.mark.parametrize("path", INGEST)
def test_ingest_sends_no_mail_and_reads_once_inside_the_answer(measured, path):
    """One batch read (dedupe record, identity, references: ``find_duplicate`` is not called), at
    most one more for the customer and the ticket, the ticket number, one transaction; the
    acknowledgement is an outbox item, delivered by the dispatch job, not sent in the answer."""
    tally = measured[path]
    assert tally.other == {"s3.PutObject": 1}, dict(tally.other)  # the raw payload, kept; no SES, no SNS
    assert tally.ops["GetItem"] == 0 and tally.ops["Query"] == 0 and tally.ops["PutItem"] == 0, dict(tally.ops)
    assert tally.ops["TransactWriteItems"] == 1, dict(tally.ops)
    assert tally.ops["BatchGetItem"] == (1 if path == "form ingest, new ticket" else 2), dict(tally.ops)
