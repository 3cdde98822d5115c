"""Replies in flight: a marker per outbound message between commit and the recorded send result.

The marker is written in the same transaction as the ``sending`` timeline event, gets the
provider's message id the moment the provider accepts the message, and is deleted once the
result is on the timeline. Markers left behind (a crash, a failed write after a successful
send) are what ``services.replies.reconcile`` repairs: one partition, time-ordered, so finding
them is one Query, never a scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from ulid import ULID

from chalicelib.store.models import EventItem, RefItem, _Base
from chalicelib.store.tx import transact_write

PK = "SENDING"
RETENTION = timedelta(days=30)


class SendingItem(_Base):
    """A reply in flight. ``pk=SENDING``, ``sk=<event ulid>#<ticket>``."""

    ticket_id = NumberAttribute()
    event_id = UnicodeAttribute()
    provider_message_id = UnicodeAttribute(null=True)
    """Set once the provider accepted the message: from then on it is sent, whatever fails after."""
    message_ids = UnicodeAttribute(null=True)
    """The sent message's ids (space-separated), for the threading references."""


def marker(ticket_id: int, event_id: str) -> SendingItem:
    """The marker to write with the commit of a ``sending`` outbound event."""
    return SendingItem(PK, f"{event_id}#{ticket_id}", ticket_id=ticket_id, event_id=event_id)


def mark_accepted(ticket_id: int, event_id: str, provider_message_id: str, message_ids: list[str]) -> None:
    """Remember that the provider accepted the message (before anything else is written)."""
    item = marker(ticket_id, event_id)
    item.provider_message_id = provider_message_id or "(accepted)"
    item.message_ids = " ".join(message_ids)[:20_000] or None
    item.save()


def finish(event: EventItem, patch: dict[str, Any], refs: Iterable[RefItem] = ()) -> None:
    """Record a reply's outcome in one transaction: ``patch`` merged into the event's data (the
    event as this process has it: nothing is read again), the sent message's references, and the
    marker deleted. Not agent-checked: it records what the provider already did."""
    ticket_id = int(event.pk.split("#", 1)[1])
    event.data = {**(event.data or {}), **patch}
    unique = {ref.pk: ref for ref in refs}
    with transact_write(guarded=False) as tw:
        tw.save(event, condition=EventItem.sk.exists())
        for ref in unique.values():
            tw.save(ref)
        tw.delete(marker(ticket_id, event.event_id))


def done(ticket_id: int, event_id: str) -> None:
    """The send result is on the timeline: forget the marker."""
    marker(ticket_id, event_id).delete()


def stale(now: datetime, older_than: timedelta) -> Iterator[SendingItem]:
    """Markers of messages committed more than ``older_than`` ago (one Query on one partition)."""
    cutoff = str(ULID.from_datetime(now - older_than))
    return SendingItem.query(PK, SendingItem.sk < cutoff, consistent_read=True)
