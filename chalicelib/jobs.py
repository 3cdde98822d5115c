"""Scheduled functions (Chalice blueprint). ``chalice local`` never runs these; ``make run`` does."""

from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.domain import utcnow
from chalicelib.services import sweep as sweep_service

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="sweep")
def sweep(event: object) -> dict:
    """Every minute: fire due SLA breaches and automations, each exactly once."""
    report = sweep_service.sweep(utcnow())
    return {"due": len(report.due_tickets), "fired": len(report.fired), "failed": report.failed}
