"""Scheduled functions (Chalice blueprint). ``chalice local`` never runs these; ``make run`` does."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint, Rate

from chalicelib import metrics
from chalicelib.domain import utcnow
from chalicelib.lazy import lazy_import

dispatch_service = lazy_import("chalicelib.services.dispatch")
sweep_service = lazy_import("chalicelib.services.sweep")

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="sweep")
def sweep(event: object) -> dict:
    """Every minute: fire due SLA breaches and automations, each exactly once. ``SweepLag``: how
    late this run started after its scheduled minute."""
    now = utcnow()
    scheduled = getattr(event, "time", None)
    if isinstance(scheduled, str):
        try:
            lag = (now - datetime.fromisoformat(scheduled.replace("Z", "+00:00"))).total_seconds()
            metrics.record("SweepLag", max(lag, 0.0) * 1000, metrics.MILLISECONDS)
        except ValueError:
            pass
    report = sweep_service.sweep(now)
    return {"due": len(report.due_tickets), "fired": len(report.fired), "failed": report.failed}


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="dispatch")
def dispatch(event: object) -> dict:
    """Every minute: deliver outbox notifications that are due (new, retries after backoff,
    expired leases); the ones the fast path already sent are not due."""
    report = dispatch_service.dispatch_due(utcnow())
    return {"sent": len(report.sent), "retrying": len(report.retrying), "failed": len(report.failed)}
