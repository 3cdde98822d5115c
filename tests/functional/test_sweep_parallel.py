"""Overlapping sweeps with bounded parallelism still handle every due ticket exactly once (issue 15).

Three sweeps start at the same instant, each in its own process (as three overlapping
Lambda invocations: a slow run, the next minute's, a retry), each with 8 worker threads,
against the local AWS stand-in that ``make run`` uses (``infra.moto_standin``: moto made
safe for concurrent clients; no lock in the product or in this test). 5 ms are injected
into every DynamoDB request so the sweeps really interleave. Counted afterwards: every
ticket has exactly one ``sla_breached`` event, one outbox item per notification, every
one sent once (SES's own send count), and the firings of the three sweeps add up to what
one sweep records.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from infra.moto_standin import StandInProcess
from tests.conftest import ROOT
from tests.functional.stack_kit import free_port

DUE = 24
SWEEPS = 3
WORKERS = 8
FIRINGS_PER_TICKET = 2  # the first-reply breach and its manager notification rule


def _run(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench.sweep_standin", url, *args], cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen[str], timeout: float = 240) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def standin():
    server = StandInProcess("127.0.0.1", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_overlapping_parallel_sweeps_fire_and_send_each_once_then_nothing_is_due(standin):
    numbers = _result(_run(standin, "load", "--due", str(DUE)))["numbers"]
    assert len(numbers) == DUE

    start_at = time.time() + 12  # every process imported and waiting before the common start
    procs = [_run(standin, "sweep", "--workers", str(WORKERS), "--start-at", str(start_at), "--latency-ms", "5")
             for _ in range(SWEEPS)]
    sweeps = [_result(p) for p in procs]

    assert all(s["workers"] == WORKERS and s["failed"] == [] for s in sweeps), sweeps
    assert max(s["started"] for s in sweeps) < min(s["ended"] for s in sweeps), "the sweeps did not overlap"
    assert sum(s["due"] for s in sweeps) > DUE, "no ticket was seen by two sweeps at once"
    assert sum(s["fired"] for s in sweeps) == DUE * FIRINGS_PER_TICKET  # recorded once, by whichever won
    sends = sum(s["ses"] for s in sweeps)

    seen = _result(_run(standin, "verify", "--first", str(min(numbers)), "--last", str(max(numbers))))
    assert set(seen["breaches"].values()) == {1}, seen["breaches"]  # one breach per ticket, none twice
    assert seen["outbox"] == DUE and seen["states"] == {"sent": DUE}, seen
    assert sends == seen["ses_sent"] == DUE  # each notification left SES exactly once

    again = _result(_run(standin, "sweep", "--workers", str(WORKERS)))  # the next minute: nothing left
    assert again["due"] == 0 and again["fired"] == 0 and again["ses"] == 0
    writes = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
    assert not any(again["ops"].get(op) for op in writes), again["ops"]
