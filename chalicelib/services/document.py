"""Adapter: ticket fields and customer record -> the engine's condition document."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.engine import build_document
from chalicelib.sla.clocks import MetricState
from chalicelib.store.models import CustomerItem


def customer_fields(customer: CustomerItem | None) -> dict[str, Any]:
    """The customer's fields conditions may see."""
    if customer is None:
        return {}
    return {"id": customer.customer_id, "name": customer.name, "email": customer.email,
            "vip": bool(customer.vip), "tags": sorted(customer.tags or []), "lang": customer.lang or "ja"}


def document(
    fields: Mapping[str, Any],
    customer: Mapping[str, Any],
    metrics: Mapping[str, MetricState],
    now: datetime,
    event: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document for one evaluation of one ticket at ``now``."""
    escalation = fields.get("escalation") or {}
    open_ = escalation.get("state") == "open"
    ticket = {**fields, "id": int(fields["number"]), "escalated": open_,
              "escalation_department": escalation.get("department") if open_ else None}
    clock = {"minutes_since_created": round((now - fields["created_at"]).total_seconds() / 60, 3), **metrics}
    return build_document(ticket=ticket, customer=customer, event=event, changes=changes, clock=clock)
