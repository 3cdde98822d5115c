"""Ticket headers, their timeline events, and the ticket views' indexes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex

from chalicelib.kpi.days import day_key
from chalicelib.store import schema
from chalicelib.store.models.base import _Base, _index

ESCALATED_LIST = "ESC"


class StatusIndex(GlobalSecondaryIndex["TicketItem"]):
    """Tickets by status, oldest first."""

    Meta = _index(schema.STATUS_INDEX)
    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class AssigneeIndex(GlobalSecondaryIndex["TicketItem"]):
    """Tickets by assigned agent."""

    Meta = _index(schema.ASSIGNEE_INDEX)
    assignee = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class AllTicketsIndex(GlobalSecondaryIndex["TicketItem"]):
    """Every ticket in creation order (``ticket_list`` is the constant "ALL")."""

    Meta = _index(schema.ALL_TICKETS_INDEX)
    ticket_list = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex["TicketItem"]):
    """Sparse, write-sharded index of tickets with a pending deadline or reminder."""

    Meta = _index(schema.DUE_INDEX)
    due_shard = UnicodeAttribute(hash_key=True)
    next_due_at = NumberAttribute(range_key=True)


class SlaIndex(GlobalSecondaryIndex["TicketItem"]):
    """Sparse index of tickets with a running SLA deadline, earliest first."""

    Meta = _index(schema.SLA_INDEX)
    sla_list = UnicodeAttribute(hash_key=True)
    sla_due_at = NumberAttribute(range_key=True)


class CustomerTicketsIndex(GlobalSecondaryIndex["TicketItem"]):
    """A customer's tickets in creation order (``ticket_customer`` = the customer id)."""

    Meta = _index(schema.CUSTOMER_INDEX)
    ticket_customer = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class EscalatedIndex(GlobalSecondaryIndex["TicketItem"]):
    """Sparse index of tickets with an open escalation (``esc_list`` = "ESC"), earliest deadline first."""

    Meta = _index(schema.ESCALATED_INDEX)
    esc_list = UnicodeAttribute(hash_key=True)
    esc_due_at = NumberAttribute(range_key=True)


class TicketItem(_Base):
    """Ticket header: small, read often. ``pk=TICKET#<number>``, ``sk=TICKET``."""

    number = NumberAttribute()
    status = UnicodeAttribute()
    priority = UnicodeAttribute()
    channel = UnicodeAttribute()
    subject = UnicodeAttribute()
    category = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute()
    ticket_customer = UnicodeAttribute(null=True)
    customer_name = UnicodeAttribute(null=True)
    customer_email = UnicodeAttribute(null=True)
    assignee = UnicodeAttribute(null=True)
    department = UnicodeAttribute(null=True)
    tags = UnicodeSetAttribute(null=True)
    ticket_list = UnicodeAttribute(default="ALL")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_customer_message_at = UTCDateTimeAttribute(null=True)
    last_agent_reply_at = UTCDateTimeAttribute(null=True)
    first_replied_at = UTCDateTimeAttribute(null=True)
    solved_at = UTCDateTimeAttribute(null=True)
    awaiting_reply_since = UTCDateTimeAttribute(null=True)
    sla = JSONAttribute(null=True)
    escalation = JSONAttribute(null=True)
    claim = JSONAttribute(null=True)
    fired_keys = UnicodeSetAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    next_due_at = NumberAttribute(null=True)
    sla_list = UnicodeAttribute(null=True)
    sla_due_at = NumberAttribute(null=True)
    esc_list = UnicodeAttribute(null=True)
    esc_due_at = NumberAttribute(null=True)
    erased_at = UTCDateTimeAttribute(null=True)  # the customer's personal data was removed (store.erasure)
    version = VersionAttribute()

    by_status = StatusIndex()
    by_assignee = AssigneeIndex()
    all_tickets = AllTicketsIndex()
    due = DueIndex()
    by_sla = SlaIndex()
    by_customer = CustomerTicketsIndex()
    escalated = EscalatedIndex()

    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> TicketItem:
        """Load an item and remember its tags: the search index is updated by the difference."""
        item = super().from_raw_data(data)
        item.indexed_tags = frozenset(item.tags or ())
        return item

    def deserialize(self, attribute_values: dict[str, dict[str, Any]]) -> None:
        """As pynamodb does, and remember the tags as stored (see ``from_raw_data``)."""
        super().deserialize(attribute_values)
        self.indexed_tags = frozenset(self.tags or ())

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """Derive the escalated-view index attributes from ``escalation`` on every write path."""
        esc = self.escalation or {}
        due = esc.get("due_at") if esc.get("state") == "open" else None
        self.esc_list = ESCALATED_LIST if due else None
        self.esc_due_at = int(datetime.fromisoformat(str(due).replace("Z", "+00:00")).timestamp()) if due else None
        return super().serialize(null_check)


class EventDayIndex(GlobalSecondaryIndex["EventItem"]):
    """Timeline events of one local report day (``ev_day`` = "YYYY-MM-DD"), in event order."""

    Meta = _index(schema.EVENT_DAY_INDEX)
    ev_day = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class EventItem(_Base):
    """One timeline event. ``pk=TICKET#<number>``, ``sk=EV#<ulid>`` (time-ordered).

    ``ev_day`` (the local report day of ``at``) is derived on every write, whichever
    code path writes the event, and puts it in the events-by-day index.
    """

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    data = JSONAttribute(null=True)
    ev_day = UnicodeAttribute(null=True)

    by_day = EventDayIndex()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """Set ``ev_day`` from ``at`` (once; a re-saved event keeps its day) before writing."""
        if self.ev_day is None and self.at is not None:
            self.ev_day = day_key(self.at)
        return super().serialize(null_check)
