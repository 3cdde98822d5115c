"""Scheduled reconciliation of agent replies stuck in ``sending`` (Chalice blueprint)."""

from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.domain import utcnow
from chalicelib.lazy import lazy_import

replies = lazy_import("chalicelib.services.replies")

bp = Blueprint(__name__)


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="reconcile_replies")
def reconcile_replies(event: object) -> dict:
    """Every 5 minutes: replies the provider accepted become ``sent``, interrupted ones ``failed``."""
    return replies.reconcile(utcnow())
