"""The history file: JSON Lines, a header line then one ticket per line. PURE.

    {"kind": "header", "format": "helpdesk-history/1", "from": "2026-11-01", "to": "2026-11-30", ...}
    {"kind": "ticket", "ticket": {...header...}, "customer": {...}, "events": [{id, type, at, actor, data}, ...]}

``ticket`` holds what does not change with the rules: ``number``, ``channel``,
``subject``, ``category``, ``customer_id``, ``customer_name``, ``customer_email``,
``created_at``. ``customer`` is what conditions see of the customer (``id``,
``name``, ``email``, ``vip``, ``tags``; as exported, not as it was back then).
``events`` is the recorded timeline, oldest first, exactly as stored. Times are
ISO 8601 with a zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from chalicelib.kpi.facts import Event

FORMAT = "helpdesk-history/1"
UTC = timezone.utc


class HistoryError(ValueError):
    """A history line that cannot be read; the message names the line and the field."""


@dataclass(frozen=True)
class TicketHistory:
    """One ticket: its fixed header, its customer and its recorded events (oldest first)."""

    ticket: Mapping[str, Any]
    customer: Mapping[str, Any]
    events: tuple[Event, ...]

    @property
    def number(self) -> int:
        """The ticket number."""
        return int(self.ticket["number"])

    @property
    def created_at(self) -> datetime:
        """When the ticket arrived."""
        return parse_time(self.ticket["created_at"], "ticket.created_at")


def parse_time(value: Any, name: str) -> datetime:
    """An aware UTC datetime from an ISO 8601 string (``Z`` allowed) or a datetime."""
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise HistoryError(f"{name}: not an ISO 8601 time: {value!r}") from None
    if t.tzinfo is None:
        raise HistoryError(f"{name}: time needs a zone: {value!r}")
    return t.astimezone(UTC)


def iso(t: datetime) -> str:
    """ISO 8601 UTC with ``Z``."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ticket_from_dict(doc: Mapping[str, Any], where: str = "ticket") -> TicketHistory:
    """A ``TicketHistory`` from a parsed ticket line; ``HistoryError`` names the bad field."""
    ticket = doc.get("ticket")
    if not isinstance(ticket, Mapping) or not isinstance(ticket.get("number"), int):
        raise HistoryError(f"{where}: /ticket/number must be an integer")
    parse_time(ticket.get("created_at"), f"{where}: /ticket/created_at")
    raw_events = doc.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        raise HistoryError(f"{where}: /events must be a non-empty list")
    events = []
    for i, e in enumerate(raw_events):
        if not isinstance(e, Mapping) or not isinstance(e.get("type"), str):
            raise HistoryError(f"{where}: /events/{i}/type must be a string")
        events.append(Event(id=str(e.get("id") or i), type=e["type"], at=parse_time(e.get("at"), f"{where}: "
                            f"/events/{i}/at"), actor=str(e.get("actor") or ""), data=dict(e.get("data") or {})))
    customer = doc.get("customer") or {}
    if not isinstance(customer, Mapping):
        raise HistoryError(f"{where}: /customer must be an object")
    return TicketHistory(ticket=dict(ticket), customer=dict(customer), events=tuple(events))


def ticket_to_dict(history: TicketHistory) -> dict[str, Any]:
    """The JSON object of a ticket line."""
    ticket = {k: (iso(v) if isinstance(v, datetime) else v) for k, v in history.ticket.items()}
    return {"kind": "ticket", "ticket": ticket, "customer": dict(history.customer),
            "events": [{"id": e.id, "type": e.type, "at": iso(e.at), "actor": e.actor, "data": dict(e.data)}
                       for e in history.events]}


def header(**values: Any) -> dict[str, Any]:
    """The first line of a history file."""
    return {"kind": "header", "format": FORMAT, **values}


def write_lines(out: IO[str], head: Mapping[str, Any], tickets: Iterable[TicketHistory]) -> int:
    """Write a history file; returns the number of tickets written."""
    out.write(json.dumps(dict(head), ensure_ascii=False) + "\n")
    count = 0
    for t in tickets:
        out.write(json.dumps(ticket_to_dict(t), ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


def read_lines(lines: Iterable[str]) -> Iterator[TicketHistory | dict[str, Any]]:
    """Parse a history file lazily: the header dict first (if any), then ``TicketHistory`` items."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (json.JSONDecodeError, RecursionError, ValueError) as exc:
            raise HistoryError(f"line {n}: not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise HistoryError(f"line {n}: must be a JSON object")
        if doc.get("kind") == "header":
            if doc.get("format") != FORMAT:
                raise HistoryError(f"line {n}: /format must be {FORMAT!r}, got {doc.get('format')!r}")
            yield doc
        else:
            yield ticket_from_dict(doc, f"line {n}")
