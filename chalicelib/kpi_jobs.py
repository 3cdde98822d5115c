"""Scheduled KPI aggregation (Chalice blueprint): keeps the daily aggregates present and final."""

from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.domain import utcnow
from chalicelib.lazy import lazy_import

kpis = lazy_import("chalicelib.services.kpis")

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.HOURS), name="kpi_aggregate")
def kpi_aggregate(event: object) -> dict:
    """Hourly: (re)compute the last two closed days' aggregates unless already final (idempotent)."""
    return {"days": kpis.aggregate_recent(utcnow())}
