"""pynamodb models over the single service table (see ``schema``).

Table name and region are resolved on use, not at import, so one process can
serve several stages and tests can give every test its own table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection, TableConnection
from pynamodb.connection.base import MetaTable
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.kpi.days import day_key
from chalicelib.settings import get_settings
from chalicelib.store import schema

ESCALATED_LIST = "ESC"


class _Lazy:
    """Descriptor that evaluates a setting each time pynamodb reads it."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn

    def __get__(self, obj: Any, owner: Any) -> Any:
        return self.fn()


class _TableMeta:
    table_name = _Lazy(lambda: get_settings().table_name)
    region = _Lazy(lambda: get_settings().region)


_shared: dict[tuple[str, str], Connection] = {}
_shared_lock = threading.Lock()


def shared_connection() -> Connection:
    """One pynamodb Connection per (region, table) for every model and transaction.

    pynamodb would otherwise give each model class its own botocore client,
    which costs a client creation per model on every cold start.
    """
    settings = get_settings()
    key = (settings.region, settings.table_name)
    with _shared_lock:
        conn = _shared.get(key)
        if conn is None:
            conn = Connection(region=settings.region)
            conn._local.session = aws.session()._session  # the container's one botocore session
            conn.add_meta_table(MetaTable(schema.table_definition(settings.table_name)))
            _shared[key] = conn
        return conn


class _Base(Model):
    """Every item has a string partition key ``pk`` and sort key ``sk``."""

    class Meta(_TableMeta):
        pass

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        table.connection = shared_connection()
        return table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


def _index(name: str) -> type:
    class Meta:
        index_name = name
        projection = AllProjection()

    return Meta


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


class FiringItem(_Base):
    """A rule firing, written once. ``pk=FIRED#<rule>#<ticket>#<instance>``, ``sk=FIRED``."""

    rule_id = UnicodeAttribute()
    ticket_id = NumberAttribute()
    at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class RefItem(_Base):
    """A threading reference -> ticket. ``pk=REF#<kind>#<value>``, ``sk=REF``.

    Kinds: ``msg`` (a provider message id, ours or the customer's), ``thread``
    (a conversation id such as a Slack thread or a LINE user).
    """

    ticket_id = NumberAttribute()
    expires_at = TTLAttribute(null=True)


class CustomerItem(_Base):
    """A customer. ``pk=CUSTOMER#<ulid>``, ``sk=CUSTOMER``."""

    customer_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    merged_into = UnicodeAttribute(null=True)
    vip = BooleanAttribute(default=False)
    tags = UnicodeSetAttribute(null=True)
    lang = UnicodeAttribute(null=True)  # "ja" | "en": acknowledgements and mails to the customer
    notes = UnicodeAttribute(null=True)
    erased_at = UTCDateTimeAttribute(null=True)  # GDPR erasure: personal data removed


class IdentityItem(_Base):
    """An identity -> customer pointer. ``pk=IDENT#<kind>#<value>``, ``sk=IDENT``.

    The customer also holds a link item ``pk=CUSTOMER#<id>``, ``sk=IDENT#<kind>#<value>``
    so a customer's identities are one query away.
    """

    customer_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = UnicodeAttribute()


class CounterItem(_Base):
    """An atomic counter (``UpdateItem ADD``). ``pk=COUNTER#<name>``, ``sk=COUNTER``."""

    value = NumberAttribute(default=0)


class DedupeItem(_Base):
    """Idempotency record. ``pk=DEDUPE#<key>``, ``sk=DEDUPE``; expires_at is for clean-up only."""

    ticket_id = NumberAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    valid_until = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class AgentsIndex(GlobalSecondaryIndex["AgentItem"]):
    """Every agent by id (``agent_list`` is the constant "AGENTS"): the agents page, never a scan."""

    Meta = _index(schema.AGENTS_INDEX)
    agent_list = UnicodeAttribute(hash_key=True)
    agent_id = UnicodeAttribute(range_key=True)


class AgentItem(_Base):
    """An agent. ``pk=AGENT#<id>``, ``sk=AGENT``."""

    agent_id = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    role = UnicodeAttribute(default="agent")
    department = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)  # E.164, for the sms notification target
    slack_channel = UnicodeAttribute(null=True)  # for the slack notification target
    lang = UnicodeAttribute(null=True)  # "ja" | "en": notifications to this agent
    disabled = BooleanAttribute(default=False)
    auth_version = NumberAttribute(default=0)  # bumped by every change; writes check it (store.auth)
    token_hashes = UnicodeSetAttribute(null=True)  # the valid tokens; rotation replaces them
    agent_list = UnicodeAttribute(default="AGENTS")
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)

    everyone = AgentsIndex()


class SearchItem(_Base):
    """One inverted-index posting: ``pk=SRCH#<term>``, ``sk=<created_at>#<number>`` (newest last).

    Terms are ``tag:<tag>`` and subject words/bigrams ``w:<token>`` (``store.search``).
    """

    ticket_id = NumberAttribute()


class AuditItem(_Base):
    """One entry of the admin timeline: ``pk=AUDIT``, ``sk=EV#<ulid>``."""

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    target = UnicodeAttribute()
    data = JSONAttribute(null=True)


class TokenItem(_Base):
    """An API token, stored only as its SHA-256. ``pk=TOKEN#<sha256>``, ``sk=TOKEN``."""

    agent_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class OutboxIndex(GlobalSecondaryIndex["OutboxItem"]):
    """Outbox items by state; ``state_at`` is when to look next (pending, sending) or when it ended."""

    Meta = _index(schema.OUTBOX_INDEX)
    outbox_state = UnicodeAttribute(hash_key=True)
    state_at = NumberAttribute(range_key=True)


class OutboxItem(_Base):
    """One notification to deliver, written in the same transaction as the firing that caused it.

    ``pk=OUTBOX#<id>``, ``sk=OUTBOX``; the id is a digest of the dedupe key, so
    a second firing with the same key cannot write a second item. States:
    ``pending`` -> ``sending`` (leased) -> ``sent``, or back to ``pending``
    with a backoff, or ``failed`` after the last attempt (until redriven).
    """

    outbox_id = UnicodeAttribute()
    dedupe_key = UnicodeAttribute()
    ticket_id = NumberAttribute(null=True)
    rule_id = UnicodeAttribute(null=True)
    target = UnicodeAttribute()
    to = JSONAttribute(null=True)
    recipient = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(default="")
    body = UnicodeAttribute(default="")
    lang = UnicodeAttribute(default="ja")
    data = JSONAttribute(null=True)
    outbox_state = UnicodeAttribute()
    state_at = NumberAttribute()
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    detail = UnicodeAttribute(null=True)
    attempt_log = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    version = VersionAttribute()

    by_state = OutboxIndex()
