"""How an escalation ends, as pure field changes: answered (its contact wrote), declined (returns
at once), or ended because the ticket was solved or closed, or an agent cancelled it.

An ended escalation (state ``ended``, with ``ended_reason`` ``solved``, ``closed`` or
``cancelled``) has no clock: the ``escalation`` clock only exists for an ``open`` one, so no
reminder, return or manager mail fires for it, and it leaves the escalated view. Each end is an
``escalation_ended`` timeline event ``{"id", "department", "reason", "by"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain import Status
from chalicelib.sla.clocks import iso_z

ENDED = "ended"
END_REASONS = ("solved", "closed", "cancelled")
_ENDING_STATUSES = {Status.SOLVED.value: "solved", Status.CLOSED.value: "closed"}


def end_escalation(fields: dict[str, Any], reason: str, by: str, now: datetime, note: str = ""
                   ) -> dict[str, Any] | None:
    """End the open escalation on ``fields``; returns its ``escalation_ended`` event (None: none open)."""
    if reason not in END_REASONS:
        raise ValueError(f"unknown escalation end reason {reason!r}")
    esc = fields.get("escalation") or {}
    if esc.get("state") != "open":
        return None
    fields["escalation"] = {**esc, "state": ENDED, "ended_reason": reason, "ended_at": iso_z(now), "ended_by": by,
                            **({"end_note": note} if note else {})}
    data = {"id": esc.get("id"), "department": esc.get("department"), "reason": reason, "by": by}
    if note:
        data["note"] = note
    return {"type": "escalation_ended", "data": data}


def end_on_status(fields: dict[str, Any], original: Mapping[str, Any], actor: str, now: datetime
                  ) -> dict[str, Any] | None:
    """A ticket moving to solved or closed ends its open escalation (the event, or None)."""
    reason = _ENDING_STATUSES.get(str(fields.get("status")))
    if reason is None or original.get("status") == fields.get("status"):
        return None
    return end_escalation(fields, reason, actor, now)
