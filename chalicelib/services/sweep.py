"""The per-minute sweep: read the due index, never the table, and act on what is due.

Due tickets are handled concurrently by at most ``workers`` threads
(``HELPDESK_SWEEP_WORKERS``, default 10: botocore's connection pool size, so no
thread waits for a connection or opens a throw-away one). Each ticket is still
handled exactly once, even when two sweeps overlap (a slow run and the next
minute's, or a retried invocation): every firing is recorded with a conditional
write committed together with the ticket change, and the loser of a race re-reads
the ticket and finds nothing left to do (``flow.sweep_ticket``).

Headers and customers are read in batches (``READ_BATCH`` tickets per worker task: two
BatchGetItem instead of two GetItem per ticket), just before the task handles them; a
stale read only costs a retry, since every commit is conditional on the version read.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import metrics
from chalicelib.log import correlate
from chalicelib.services.evaluate import BREACH_PREFIX
from chalicelib.services.flow import sweep_ticket
from chalicelib.settings import get_settings
from chalicelib.store import tickets, views

log = logging.getLogger(__name__)
READ_BATCH = 25
"""Due tickets one worker task reads together (fewer when there are fewer per worker)."""


@dataclass
class SweepReport:
    """What one sweep saw and did."""

    due_tickets: list[int] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    workers: int = 1


def _sweep_one(number: int, now: datetime, loaded: tuple[Any, Any] | None) -> tuple[int, list[str] | None]:
    """(number, firing keys recorded) or (number, None) if it failed; a failure is logged, never raised."""
    with correlate(ticket_id=number):
        try:
            return number, sweep_ticket(number, now, loaded)
        except Exception:
            log.exception("sweep of ticket %s failed", number)
            return number, None


def _sweep_batch(numbers: Sequence[int], now: datetime) -> list[tuple[int, list[str] | None]]:
    """Read the headers and customers of ``numbers`` together, then sweep each. If the batched read
    fails, each ticket reads its own (and a failure there is that ticket's alone)."""
    try:
        loaded = tickets.headers_with_customers(numbers)
    except Exception:
        log.exception("batched read of %d due tickets failed; reading them one by one", len(numbers))
        loaded = {}
    return [_sweep_one(number, now, loaded.get(number)) for number in numbers]


def batches(numbers: Sequence[int], workers: int) -> list[Sequence[int]]:
    """``numbers`` in order, cut into worker tasks of at most ``READ_BATCH`` (fewer when there are
    fewer tickets per worker, so every worker gets a share)."""
    size = max(1, min(READ_BATCH, math.ceil(len(numbers) / max(workers, 1))))
    return [numbers[i:i + size] for i in range(0, len(numbers), size)]


def sweep(now: datetime, workers: int | None = None) -> SweepReport:
    """Handle every ticket whose ``next_due_at`` has come, at most ``workers`` at a time.

    ``workers`` defaults to ``Settings.sweep_workers``; 1 handles them one after
    another. Safe to run concurrently or twice: each firing is recorded with a
    conditional write, so it happens once. One ticket's failure is logged and
    does not stop the others; the ticket stays due and is retried next minute.
    """
    started = time.monotonic()
    settings = get_settings()
    report = SweepReport(due_tickets=views.due_ticket_numbers(now, settings.due_shards))
    report.workers = max(1, min(workers or settings.sweep_workers, len(report.due_tickets) or 1))
    tasks = batches(report.due_tickets, report.workers)
    if report.workers == 1:
        results = [r for task in tasks for r in _sweep_batch(task, now)]
    else:
        with ThreadPoolExecutor(max_workers=report.workers, thread_name_prefix="sweep") as pool:
            # each task in a copy of this context: the invocation's correlation ids reach its log lines
            futures = [pool.submit(contextvars.copy_context().run, _sweep_batch, task, now) for task in tasks]
            results = [r for f in futures for r in f.result()]
    for number, fired in results:  # in due-index order, whatever order the threads finished in
        if fired is None:
            report.failed.append(number)
        else:
            report.fired += fired
    breaches = sum(1 for key in report.fired if key.startswith(BREACH_PREFIX))
    metrics.count("SweepRuns")
    metrics.count("SlaBreaches", breaches)
    metrics.count("AutomationsFired", len(report.fired) - breaches)
    metrics.count("SweepFailures", len(report.failed))
    metrics.record("SweepDuration", (time.monotonic() - started) * 1000, metrics.MILLISECONDS)
    log.info("sweep at %s: %d due, %d fired, %d failed (%d workers)", now.isoformat(), len(report.due_tickets),
             len(report.fired), len(report.failed), report.workers)
    return report
