"""Commit a planned ticket change: header, timeline events, firing records and queued
notifications, all or nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from ulid import ULID

from chalicelib.errors import Conflict
from chalicelib.settings import get_settings
from chalicelib.store import keys, outbox, search
from chalicelib.store.models import EventItem, FiringItem, OutboxItem, TicketItem
from chalicelib.store.tx import failed_conditions, transact_write

FIRING_SK = "FIRED"
FIRING_RETENTION = timedelta(days=400)
SLA_LIST = "SLA"
_SET_FIELDS = ("tags", "fired_keys")


def ticket_fields(ticket: TicketItem) -> dict[str, Any]:
    """The header as a plain dict (sets as sorted lists) for evaluation."""
    fields = dict(ticket.attribute_values)
    for name in _SET_FIELDS:
        fields[name] = sorted(fields.get(name) or [])
    return fields


def apply_fields(ticket: TicketItem, fields: Mapping[str, Any], now: datetime) -> None:
    """Copy evaluated fields onto the model and derive the index attributes."""
    for name, value in fields.items():
        if name in ("pk", "sk", "version"):
            continue
        if name in _SET_FIELDS:
            value = set(value or []) or None
        setattr(ticket, name, value)
    ticket.updated_at = now
    shards = get_settings().due_shards
    ticket.due_shard = keys.due_shard(int(ticket.number), shards) if ticket.next_due_at is not None else None
    ticket.sla_list = SLA_LIST if ticket.sla_due_at is not None else None


def monotonic_ids(now: datetime, count: int) -> list[str]:
    """``count`` ULIDs at ``now`` that sort in the order generated.

    python-ulid increments the random part for ULIDs of the same millisecond,
    so ids made in this process never collide and keep their order.
    """
    return [str(ULID.from_datetime(now)) for _ in range(count)]


def event_item(ticket_id: int, event: Mapping[str, Any], now: datetime, actor: str,
               event_id: str | None = None) -> EventItem:
    """A timeline item for a planned event ``{"type", "data"}``."""
    event_id = event_id or str(ULID.from_datetime(now))
    return EventItem(keys.ticket_pk(ticket_id), keys.event_sk(event_id), event_id=event_id, type=event["type"],
                     at=now, actor=event.get("actor", actor), data=event.get("data"))


def event_items(ticket_id: int, events: Iterable[Mapping[str, Any]], now: datetime, actor: str
                ) -> list[EventItem]:
    """Timeline items for planned events, in order (an event may bring its own ``id``, a ULID at ``now``)."""
    events = list(events)
    ids = monotonic_ids(now, len(events))
    return [event_item(ticket_id, e, now, actor, e.get("id") or i) for e, i in zip(events, ids, strict=True)]


def commit(ticket: TicketItem, events: Iterable[Mapping[str, Any]], firing_keys: Iterable[str], now: datetime,
           actor: str, extra_items: Iterable[Any] = (), outbox_items: Iterable[OutboxItem] = ()) -> list[EventItem]:
    """Save the header (only if nobody changed it since it was read), events, firings and the
    notifications the firings queued (``outbox_items``; one whose dedupe key is already in the
    outbox is left out: a repeated firing sends nothing twice).

    One transaction; the outbox items are written on condition that their key is new, so no read
    comes first. Only if that condition alone cancels the transaction (a repeated firing) is it
    written again without those items. Raises ``Conflict`` when the ticket changed meanwhile or a
    firing was already recorded (a concurrent sweep won); the caller reloads and retries.
    """
    number = int(ticket.number)
    items = event_items(number, events, now, actor)
    firings = [FiringItem(keys.firing_pk(k), FIRING_SK, rule_id=k.split("#", 1)[0], ticket_id=number, at=now,
                          expires_at=now + FIRING_RETENTION) for k in firing_keys]
    extra_items = list(extra_items)
    unique: dict[str, OutboxItem] = {}
    for n in outbox_items:
        unique.setdefault(n.pk, n)
    notifications = list(unique.values())
    while True:
        tw = transact_write()
        try:
            with tw:
                tw.save(ticket)
                for item in items:
                    tw.save(item)
                for f in firings:
                    tw.save(f, condition=FiringItem.pk.does_not_exist())
                for extra in extra_items:
                    tw.save(extra)
                first = len(tw._put_items)
                outbox.save_new(tw, notifications)
                search.stage(tw, ticket)
        except TransactWriteError as err:
            failed = [i for i, f in enumerate(failed_conditions(err)) if f]
            start = len(tw._condition_check_items) + len(tw._delete_items) + first
            repeated = {i - start for i in failed}
            if failed and all(0 <= r < len(notifications) for r in repeated):
                notifications = [n for r, n in enumerate(notifications) if r not in repeated]
                continue
            if failed:
                raise Conflict("ticket changed or firing already recorded", {"ticket_id": number}) from err
            raise
        break
    search.committed(ticket)
    outbox.written(notifications)
    return items


def append_events(ticket_id: int, events: Iterable[Mapping[str, Any]], now: datetime, actor: str) -> list[EventItem]:
    """Add events to a timeline without touching the header (effect outcomes): one batch request
    per 25 events."""
    items = event_items(ticket_id, events, now, actor)
    if len(items) == 1:
        items[0].save()
        return items
    with EventItem.batch_write() as batch:
        for item in items:
            batch.save(item)
    return items
