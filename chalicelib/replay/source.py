"""The stored history, read-only: every ticket the range touches, with its whole timeline.

One Query per local day on the events-by-day index finds the tickets, headers
come 100 a request (BatchGetItem), each timeline is one Query; nothing is
written. Tickets are yielded one at a time (memory holds one timeline).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from chalicelib.kpi.days import day_of, days_between, report_timezone
from chalicelib.replay.history import Event, TicketHistory
from chalicelib.services.document import customer_fields
from chalicelib.store import aggregates, customers

HEADER_FIELDS = ("number", "channel", "subject", "category", "customer_id", "customer_name", "customer_email",
                 "created_at")


def touched_numbers(start: datetime, end: datetime) -> list[int]:
    """Numbers of the tickets with an event in ``[start, end)``."""
    tz = report_timezone()
    found: set[int] = set()
    for day in days_between(day_of(start, tz), day_of(end, tz)):
        for e in aggregates.day_events(day):
            if start <= e.at < end:
                found.add(int(e.pk.split("#")[1]))
    return sorted(found)


def stored_history(start: datetime, end: datetime) -> Iterator[TicketHistory]:
    """Each touched ticket: header, customer and its timeline before ``end``."""
    numbers = touched_numbers(start, end)
    for i in range(0, len(numbers), 100):
        headers = aggregates.ticket_headers(numbers[i:i + 100])
        for number in sorted(headers):
            t = headers[number]
            timeline = aggregates.timeline_until(number, end)
            if not timeline:
                continue
            header = {k: getattr(t, k) for k in HEADER_FIELDS}
            header["number"] = int(header["number"])
            customer = customer_fields(customers.get_customer(t.customer_id))
            events = tuple(Event(id=e.event_id, type=e.type, at=e.at, actor=e.actor or "", data=e.data or {})
                           for e in timeline)
            yield TicketHistory(ticket=header, customer=customer, events=events)
