"""Reading tickets: headers, timelines and events, and their JSON-ready views.

Split from ``chalicelib.store.tickets`` (which writes them and re-exports these names).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.errors import NotFound
from chalicelib.store import batch, keys
from chalicelib.store.customers import CUSTOMER_SK
from chalicelib.store.models import CustomerItem, EventItem, TicketItem

__all__ = ["event_to_dict", "events_after", "get_event", "get_ticket", "get_timeline", "get_with_timeline",
           "headers_with_customers", "ticket_to_dict", "update_event_data"]


def get_ticket(number: int) -> TicketItem:
    """The ticket header; NotFound if there is none."""
    try:
        return TicketItem.get(keys.ticket_pk(number), keys.TICKET_SK, consistent_read=True)
    except TicketItem.DoesNotExist as exc:
        raise NotFound(f"ticket {number} not found") from exc


def headers_with_customers(numbers: Iterable[int]) -> dict[int, tuple[TicketItem, CustomerItem | None]]:
    """Headers of ``numbers`` and their customers (``None`` if gone), read consistently in batches:
    one BatchGetItem per 100 headers, one per 100 distinct customers. Numbers without a header are
    left out."""
    raw = batch.get_raw((keys.ticket_pk(n), keys.TICKET_SK) for n in numbers)
    headers = {int(t.number): t for t in (TicketItem.from_raw_data(r) for r in raw.values())}
    customer_key = {n: (keys.customer_pk(t.customer_id), CUSTOMER_SK) for n, t in headers.items() if t.customer_id}
    found = batch.get_raw(customer_key.values())
    return {n: (t, batch.model_of(CustomerItem, found.get(customer_key[n])) if n in customer_key else None)
            for n, t in headers.items()}


def get_with_timeline(number: int) -> tuple[TicketItem, list[EventItem]]:
    """The header and every event, oldest first, in one consistent Query of the ticket's partition
    (the header sorts after the events: ``TICKET`` > ``EV#...``); NotFound if there is no header."""
    pk_value = keys.ticket_pk(number)
    ticket: TicketItem | None = None
    events: list[EventItem] = []
    start: dict[str, Any] | None = None
    conn = TicketItem._get_connection()
    while True:
        page = conn.query(pk_value, consistent_read=True, exclusive_start_key=start)
        for raw in page.get("Items", []):
            sk = raw["sk"]["S"]
            if sk == keys.TICKET_SK:
                ticket = TicketItem.from_raw_data(raw)
            elif sk.startswith(keys.EVENT_PREFIX):
                events.append(EventItem.from_raw_data(raw))
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    return ticket, events


def get_timeline(number: int) -> list[EventItem]:
    """The ticket's events, oldest first."""
    return list(
        EventItem.query(
            keys.ticket_pk(number),
            EventItem.sk.startswith(keys.EVENT_PREFIX),
            consistent_read=True,
        )
    )


def events_after(number: int, event_id: str) -> list[EventItem]:
    """The ticket's events newer than ``event_id`` (a range query, not the whole timeline)."""
    return list(EventItem.query(keys.ticket_pk(number), EventItem.sk > keys.event_sk(event_id), consistent_read=True))


def get_event(number: int, event_id: str) -> EventItem | None:
    """One timeline event, or None."""
    try:
        return EventItem.get(keys.ticket_pk(number), keys.event_sk(event_id), consistent_read=True)
    except EventItem.DoesNotExist:
        return None


def update_event_data(number: int, event_id: str, patch: dict[str, Any]) -> None:
    """Merge ``patch`` into an event's data (e.g. the send result of an outbound message)."""
    event = get_event(number, event_id)
    if event is None:
        raise NotFound(f"event {event_id} not found on ticket {number}")
    event.data = {**(event.data or {}), **patch}
    event.save()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def ticket_to_dict(t: TicketItem) -> dict[str, Any]:
    """JSON-ready ticket header."""
    return {
        "id": int(t.number),
        "number": f"#{int(t.number)}",
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "channel": t.channel,
        "category": t.category,
        "customer": {"id": t.customer_id, "name": t.customer_name, "email": t.customer_email},
        "assignee": t.assignee,
        "department": t.department,
        "tags": sorted(t.tags or []),
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "last_customer_message_at": _iso(t.last_customer_message_at),
        "first_replied_at": _iso(t.first_replied_at),
        "sla": t.sla,
        "erased_at": _iso(t.erased_at),
        "version": int(t.version or 0),
    }


def event_to_dict(e: EventItem) -> dict[str, Any]:
    """JSON-ready timeline event."""
    return {"id": e.event_id, "type": e.type, "at": _iso(e.at), "actor": e.actor, "data": e.data}
