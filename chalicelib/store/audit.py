"""The admin timeline: who changed which agent or customer record, when, from what to what.

Items ``pk=AUDIT``, ``sk=EV#<ulid>`` (time-ordered): ``GET /audit`` reads the newest first with one Query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ulid import ULID

from chalicelib.store import keys
from chalicelib.store.models import AuditItem

AUDIT_PK = "AUDIT"


def record(event_type: str, *, actor: str, target: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Append one audit entry and return it."""
    event_id = str(ULID.from_datetime(now))
    item = AuditItem(AUDIT_PK, keys.event_sk(event_id), event_id=event_id, type=event_type, at=now, actor=actor,
                     target=target, data=data)
    item.save()
    return to_dict(item)


def recent(limit: int = 100, target: str | None = None) -> list[dict[str, Any]]:
    """The newest entries first (optionally only those about ``target``, e.g. ``agent:sato``)."""
    cond = AuditItem.target == target if target else None
    items = AuditItem.query(AUDIT_PK, AuditItem.sk.startswith(keys.EVENT_PREFIX), filter_condition=cond,
                            scan_index_forward=False, limit=limit)
    return [to_dict(i) for i in items]


def to_dict(item: AuditItem) -> dict[str, Any]:
    """JSON-ready audit entry."""
    return {"id": item.event_id, "type": item.type, "at": item.at.isoformat().replace("+00:00", "Z"),
            "actor": item.actor, "target": item.target, "data": item.data}
