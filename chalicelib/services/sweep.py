"""The per-minute sweep: read the due index, never the table, and act on what is due."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib import metrics
from chalicelib.log import correlate
from chalicelib.services.evaluate import BREACH_PREFIX
from chalicelib.services.flow import sweep_ticket
from chalicelib.settings import get_settings
from chalicelib.store import views

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep saw and did."""

    due_tickets: list[int] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def sweep(now: datetime) -> SweepReport:
    """Handle every ticket whose ``next_due_at`` has come, shard by shard.

    Safe to run concurrently or twice: each firing is recorded with a
    conditional write, so it happens once. One ticket's failure is logged and
    does not stop the others; the ticket stays due and is retried next minute.
    """
    started = time.monotonic()
    report = SweepReport()
    for number in views.due_ticket_numbers(now, get_settings().due_shards):
        report.due_tickets.append(number)
        with correlate(ticket_id=number):
            try:
                report.fired += sweep_ticket(number, now)
            except Exception:
                log.exception("sweep of ticket %s failed", number)
                report.failed.append(number)
    breaches = sum(1 for key in report.fired if key.startswith(BREACH_PREFIX))
    metrics.count("SweepRuns")
    metrics.count("SlaBreaches", breaches)
    metrics.count("AutomationsFired", len(report.fired) - breaches)
    metrics.count("SweepFailures", len(report.failed))
    metrics.record("SweepDuration", (time.monotonic() - started) * 1000, metrics.MILLISECONDS)
    log.info("sweep at %s: %d due, %d fired, %d failed", now.isoformat(), len(report.due_tickets),
             len(report.fired), len(report.failed))
    return report
