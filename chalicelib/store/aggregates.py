"""Daily KPI aggregates and the reads that build them: events by day, timelines, headers, backlog.

One aggregate item per local report day: ``pk=KPI#DAY``, ``sk=YYYY-MM-DD``, so
a date range is ONE Query over consecutive sort keys. An aggregate holds the
day's KPI facts (one compact row per measured occurrence, exact values: the
median and p90 of any range and grouping are exact) and the size of the
end-of-day backlog. The backlog snapshot itself (one row per unsolved
ticket) lives apart, ``pk=KPI#BACKLOG``, ``sk=YYYY-MM-DD``: a report needs
only its last day's, and the next day's aggregation rolls it forward, so a
90-day report does not read 90 copies of the backlog. A day too big for one
item (~300 KB of rows, some 3,000 facts or backlog entries) spills into parts
``YYYY-MM-DD#1``, ``#2``, ...; part 0 says how many parts are current, so a
recomputation that needs fewer parts leaves no stale rows in the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from ulid import ULID

from chalicelib.domain import ACTIVE_STATUSES
from chalicelib.kpi.days import day_key
from chalicelib.store import keys
from chalicelib.store.models import EventItem, TicketItem, _Base

FORMAT = 2  # 2: backlog snapshot in its own partition
MAX_PART_BYTES = 300_000


class DayAggregateItem(_Base):
    """KPI facts of one local day (or one part of it). ``pk=KPI#DAY``, ``sk=YYYY-MM-DD[#n]``; also
    (with ``backlog`` rows, ``pk=KPI#BACKLOG``) the day's end-of-day backlog snapshot."""

    day = UnicodeAttribute()
    part = NumberAttribute(default=0)
    parts = NumberAttribute(default=1)
    format = NumberAttribute(default=FORMAT)
    timezone = UnicodeAttribute(null=True)
    computed_at = UTCDateTimeAttribute(null=True)
    as_of = UTCDateTimeAttribute(null=True)
    events = NumberAttribute(default=0)
    backlog_total = NumberAttribute(null=True)
    facts = JSONAttribute(null=True)
    backlog = JSONAttribute(null=True)


@dataclass
class StoredDay:
    """An aggregate as read back: rows of facts and backlog, and when it was computed."""

    day: date
    facts: list[list[Any]]
    backlog_total: int
    as_of: datetime
    computed_at: datetime
    events: int
    timezone: str | None
    format: int
    items: int = 1


@dataclass
class Reads:
    """Items read from the table, by purpose (reported with every KPI report)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int) -> None:
        """Count ``n`` more items read for ``what``."""
        self.counts[what] = self.counts.get(what, 0) + n

    @property
    def total(self) -> int:
        """All items read."""
        return sum(self.counts.values())


def _chunks(rows: list[Any]) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    size = 0
    for row in rows:
        row_size = len(json.dumps(row, ensure_ascii=False)) + 1
        if chunk and size + row_size > MAX_PART_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    yield chunk


def _items(pk: str, day: date, field_name: str, rows: list[Any], **common: Any) -> list[DayAggregateItem]:
    parts = list(_chunks(rows))
    return [DayAggregateItem(pk, keys.kpi_day_sk(day.isoformat(), n), day=day.isoformat(), part=n, parts=len(parts),
                             format=FORMAT, **{field_name: chunk}, **common) for n, chunk in enumerate(parts)]


def put_day(day: date, facts: list[list[Any]], backlog: list[list[Any]], *, as_of: datetime,
            computed_at: datetime, events: int, timezone: str) -> int:
    """Write (overwrite) the aggregate of ``day`` and its backlog snapshot; returns the items written."""
    common = {"timezone": timezone, "computed_at": computed_at, "as_of": as_of, "events": events,
              "backlog_total": len(backlog)}
    items = _items(keys.KPI_DAY_PK, day, "facts", facts, **common) + \
        _items(keys.KPI_BACKLOG_PK, day, "backlog", backlog, **common)
    with DayAggregateItem.batch_write() as batch:
        for item in sorted(items, key=lambda i: -int(i.part)):  # part 0 (which names the current parts) last
            batch.save(item)
    return len(items)


def _current(items: list[DayAggregateItem]) -> list[DayAggregateItem] | None:
    """The current parts of one day in order, or None if part 0 or a part it names is missing."""
    head = next((i for i in items if int(i.part) == 0), None)
    if head is None:
        return None
    current = sorted((i for i in items if int(i.part) < int(head.parts)), key=lambda i: int(i.part))
    return current if len(current) == int(head.parts) else None


def read_days(first: date, last: date, reads: Reads | None = None) -> dict[date, StoredDay]:
    """The aggregates of ``first``..``last`` that exist, with ONE Query (paged by DynamoDB's 1 MB)."""
    by_day: dict[str, list[DayAggregateItem]] = {}
    n = 0
    for item in DayAggregateItem.query(keys.KPI_DAY_PK, DayAggregateItem.sk.between(first.isoformat(),
                                                                                   f"{last.isoformat()}#~")):
        by_day.setdefault(item.day, []).append(item)
        n += 1
    if reads is not None:
        reads.add("aggregates", n)
    out: dict[date, StoredDay] = {}
    for day, items in by_day.items():
        current = _current(items)
        if current is None:
            continue  # a part is missing: treat as not aggregated
        head = current[0]
        out[date.fromisoformat(day)] = StoredDay(
            day=date.fromisoformat(day), facts=[r for i in current for r in (i.facts or [])],
            backlog_total=int(head.backlog_total or 0), as_of=head.as_of, computed_at=head.computed_at,
            events=int(head.events or 0), timezone=head.timezone, format=int(head.format or 0), items=len(current))
    return out


def read_backlog(day: date, reads: Reads | None = None) -> list[list[Any]] | None:
    """The end-of-day backlog snapshot rows of ``day`` (None if not stored)."""
    items = list(DayAggregateItem.query(keys.KPI_BACKLOG_PK, DayAggregateItem.sk.between(
        day.isoformat(), f"{day.isoformat()}#~")))
    if reads is not None:
        reads.add("backlog_snapshot", len(items))
    current = _current(items)
    return None if current is None else [r for i in current for r in (i.backlog or [])]


def day_events(day: date, reads: Reads | None = None) -> list[EventItem]:
    """Every timeline event of local ``day`` (the events-by-day index), in event order."""
    items = list(EventItem.by_day.query(day.isoformat()))
    if reads is not None:
        reads.add("events", len(items))
    return items


def _sk_before(t: datetime) -> str:
    """An event sort key below every event at or after ``t`` and above every earlier one."""
    return keys.event_sk(str(ULID.from_datetime(t))[:10])


def timeline_until(number: int, end: datetime, reads: Reads | None = None) -> list[EventItem]:
    """The ticket's events before ``end``, oldest first."""
    items = list(EventItem.query(keys.ticket_pk(number), EventItem.sk.between(keys.EVENT_PREFIX, _sk_before(end))))
    items = [e for e in items if e.at < end]
    if reads is not None:
        reads.add("timelines", len(items))
    return items


def ticket_headers(numbers: Iterable[int], reads: Reads | None = None) -> dict[int, TicketItem]:
    """Ticket headers by number (BatchGetItem, 100 keys a request)."""
    wanted = [(keys.ticket_pk(n), keys.TICKET_SK) for n in sorted(set(numbers))]
    out = {int(t.number): t for t in TicketItem.batch_get(wanted)} if wanted else {}
    if reads is not None:
        reads.add("tickets", len(out))
    return out


def previous_arrival(customer_id: str, before: datetime, lookback_days: int, reads: Reads | None = None
                     ) -> datetime | None:
    """When the customer's latest ticket before ``before`` (within the look-back) arrived, or None."""
    since = before - timedelta(days=lookback_days)
    items = list(TicketItem.by_customer.query(customer_id, TicketItem.created_at.between(since, before),
                                              scan_index_forward=False, limit=3))
    if reads is not None:
        reads.add("customer_tickets", len(items))
    earlier = [t.created_at for t in items if t.created_at < before]
    return max(earlier) if earlier else None


def active_tickets(reads: Reads | None = None) -> dict[int, tuple[str, datetime]]:
    """Every ticket in an active status now (the status index): number -> (status, arrival)."""
    out: dict[int, tuple[str, datetime]] = {}
    for status in ACTIVE_STATUSES:
        for t in TicketItem.by_status.query(status.value):
            out[int(t.number)] = (t.status, t.created_at)
    if reads is not None:
        reads.add("backlog", len(out))
    return out


def backfill_event_days(limit: int | None = None) -> int:
    """Give events written before the events-by-day index their ``ev_day`` (a one-off migration scan).

    Returns how many events were updated. Safe to re-run; new events get the
    attribute on write and are never touched here.
    """
    updated = 0
    for item in EventItem.scan(EventItem.sk.startswith(keys.EVENT_PREFIX) & EventItem.ev_day.does_not_exist()):
        item.update(actions=[EventItem.ev_day.set(day_key(item.at))])
        updated += 1
        if limit is not None and updated >= limit:
            break
    return updated
