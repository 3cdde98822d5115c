"""KPI aggregation (Chalice blueprint): the hourly job keeps the daily aggregates present and final;
``worker`` runs the jobs API requests hand off (``chalicelib.background``), such as a supervisor's
rebuild of a range of days."""

from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.domain import utcnow
from chalicelib.lazy import lazy_import

kpis = lazy_import("chalicelib.services.kpis")
background = lazy_import("chalicelib.background")

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.HOURS), name="kpi_aggregate")
def kpi_aggregate(event: object) -> dict:
    """Hourly: (re)compute the last seven closed days' aggregates unless already final (idempotent), and
    store today's so far."""
    return {"days": kpis.aggregate_recent(utcnow())}


@bp.lambda_function(name="worker")
def worker(event: dict, context: object) -> dict:
    """Invoked asynchronously by API requests (``chalicelib.background.submit``): runs ``event["kind"]``."""
    return background.handle(event)
