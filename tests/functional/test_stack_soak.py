"""The local stack (``make run``, a subprocess) under 8 concurrent clients for 60 s of mixed traffic.

Asserts correctness only: no 5xx, no connection reset or refused, the stack's
memory under 1 GB at the end, and every acknowledged delivery (form post or
inbound mail answered 200/201) stored as exactly one inbound message. Before the
fix, 17-31 of every ~60 requests answered 500 and 3 of 20 acknowledged messages
were lost. Throughput and latency are printed for context; ``bench/bench_stack.py``
is the benchmark.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from tests.functional.stack_kit import add_agents, running_stack
from tests.functional.stack_traffic import drive, stored_deliveries

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]

CLIENTS = 8
SOAK_S = float(os.environ.get("SOAK_S") or 60)
RSS_LIMIT_MB = 1024


def test_eight_clients_for_a_minute_of_mixed_traffic():
    with running_stack() as stack:
        tokens = list(add_agents(stack, [f"soak-{i}" for i in range(4)]).values())
        traffic = drive(stack, tokens, CLIENTS, SOAK_S)
        rss = stack.rss_mb()
        print(f"\nsoak: {traffic.summary()}; stack RSS {rss:.0f} MB")
        assert traffic.connection_errors == [], traffic.connection_errors[:5]
        assert traffic.server_errors() == {}, stack.lines[-80:]
        assert all(status in (200, 201) for status in traffic.statuses.get("form", []) +
                   traffic.statuses.get("email", []) + traffic.statuses.get("list", []) +
                   traffic.statuses.get("read", [])), {k: Counter(v) for k, v in traffic.statuses.items()}
        assert rss < RSS_LIMIT_MB
        assert traffic.requests > 0 and len(traffic.acknowledged) > 0

        stored = stored_deliveries(stack)
        acknowledged_tickets = Counter(traffic.acknowledged.values())
        assert sum(stored.values()) == len(traffic.acknowledged), "stored inbound messages = acknowledged deliveries"
        assert {n: stored.get(n) for n in acknowledged_tickets} == dict(acknowledged_tickets)
        stack.terminate(5.0)
