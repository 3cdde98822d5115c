"""Ticket list views (queues) with paging, served from the GSIs, never a scan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain import ACTIVE_STATUSES, Status
from chalicelib.errors import ValidationFailed
from chalicelib.store import keys
from chalicelib.store.changes import SLA_LIST
from chalicelib.store.models import ESCALATED_LIST, TicketItem
from chalicelib.store.tx import decode_cursor, encode_cursor

STATUS_VIEWS = {s.value: s.value for s in Status}
SLA_VIEWS = ("at_risk", "breached")
ESCALATED_VIEW = "escalated"
VIEWS = ("all", "new", "unassigned", "mine", ESCALATED_VIEW, *[s.value for s in Status if s != Status.NEW])
_ACTIVE = [s.value for s in ACTIVE_STATUSES]


FILTERS = ("assignee", "department", "tag", "channel", "priority", "status")


def filter_condition(filters: dict[str, str]) -> Any:
    """A DynamoDB filter for the queue filters (``assignee`` ``none`` = nobody), or None."""
    cond = None
    for name, value in filters.items():
        if name == "tag":
            part = TicketItem.tags.contains(value)
        elif name == "assignee" and value == "none":
            part = TicketItem.assignee.does_not_exist()
        else:
            part = getattr(TicketItem, name) == value
        cond = part if cond is None else cond & part
    return cond


def matches(ticket: TicketItem, filters: dict[str, str]) -> bool:
    """The same filters in Python, for search results and SLA views."""
    for name, value in filters.items():
        if name == "tag":
            if value not in (ticket.tags or ()):
                return False
        elif name == "assignee" and value == "none":
            if ticket.assignee:
                return False
        elif getattr(ticket, name) != value:
            return False
    return True


def _and(a: Any, b: Any) -> Any:
    return a if b is None else b if a is None else a & b


def list_view(
    view: str, *, agent_id: str, limit: int = 25, cursor: str | None = None, newest_first: bool = False,
    filters: dict[str, str] | None = None,
) -> tuple[list[TicketItem], str | None]:
    """One page of a view and the cursor of the next page (None at the end).

    Views: ``all``, ``new``, ``unassigned`` (active and nobody assigned),
    ``mine`` (active, assigned to ``agent_id``), ``escalated`` (an open escalation, earliest
    deadline first, from the sparse escalated index), and one per status.
    """
    if view not in VIEWS:
        raise ValidationFailed(
            [{"field": "view", "pointer": "/view", "message": f"unknown view {view!r}; one of {list(VIEWS)}"}]
        )
    extra = filter_condition(filters or {})
    if view == ESCALATED_VIEW:
        index, partition, condition = TicketItem.escalated, ESCALATED_LIST, extra
    elif view in STATUS_VIEWS:
        index, partition, condition = TicketItem.by_status, view, extra
    elif view == "mine":
        index, partition, condition = TicketItem.by_assignee, agent_id, _and(TicketItem.status.is_in(*_ACTIVE), extra)
    elif view == "unassigned":
        index, partition = TicketItem.all_tickets, "ALL"
        condition = _and(TicketItem.assignee.does_not_exist() & TicketItem.status.is_in(*_ACTIVE), extra)
    else:
        index, partition, condition = TicketItem.all_tickets, "ALL", extra
    result = index.query(partition, limit=limit, last_evaluated_key=decode_cursor(cursor, index, partition),
                         scan_index_forward=not newest_first, filter_condition=condition)
    items = list(result)
    next_key = result.last_evaluated_key if len(items) >= limit or result.last_evaluated_key else None
    return items, encode_cursor(next_key, index)


def due_ticket_numbers(now: datetime, shards: int) -> list[int]:
    """Numbers of tickets whose next due time has come, from the sparse due index (one query per shard)."""
    cutoff = int(now.timestamp())
    numbers: list[int] = []
    for shard in range(shards):
        for item in TicketItem.due.query(keys.due_shard_key(shard), TicketItem.next_due_at <= cutoff):
            numbers.append(int(item.number))
    return numbers


def sla_view(view: str, now: datetime, window_minutes: int, limit: int) -> list[TicketItem]:
    """``at_risk``: running deadline within the window; ``breached``: deadline passed. Earliest first."""
    cutoff = int(now.timestamp())
    if view == "breached":
        condition = TicketItem.sla_due_at <= cutoff
    else:
        condition = TicketItem.sla_due_at.between(cutoff + 1, cutoff + window_minutes * 60)
    return list(TicketItem.by_sla.query(SLA_LIST, condition, limit=limit))
