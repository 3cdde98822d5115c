"""Domain types shared by the engine, the store, the services and the plugins.

Pure: no AWS imports. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import clock

CLAIM_DEFAULT_TTL_S = 300
"""How long a claim ("X is replying") lasts unless renewed."""
CLAIM_MAX_TTL_S = 1800
"""The longest claim an agent may ask for."""


class Status(enum.StrEnum):
    """Lifecycle of a ticket."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on-hold"
    SOLVED = "solved"
    CLOSED = "closed"


ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Priority(enum.StrEnum):
    """How urgent a ticket is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class EventType(enum.StrEnum):
    """Kinds of timeline events; one DynamoDB item each."""

    MESSAGE_IN = "message_in"
    MESSAGE_OUT = "message_out"
    INTERNAL_MESSAGE = "internal_message"
    NOTE = "note"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    RULE_FIRED = "rule_fired"
    TAGS_CHANGED = "tags_changed"


def utcnow() -> datetime:
    """The current time, aware UTC, from ``chalicelib.clock.now()`` (movable only in the local stack).

    Only glue code calls this; new code calls ``chalicelib.clock.now()`` directly."""
    return clock.now()


@dataclass(frozen=True)
class Sender:
    """Who sent an inbound message, as the channel identifies them."""

    identity_kind: str  # "email", "line", "slack", "phone", ...
    identity_value: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class InboundRequest:
    """A raw webhook delivery as a channel plugin sees it."""

    channel: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ('' if absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class InboundMessage:
    """One customer message parsed from a channel, ready to become a ticket event.

    ``dedupe_key`` identifies the delivery: the same key never makes a second
    ticket or event. ``dedupe_window_s`` limits how long the key counts (None:
    forever), for channels that only have a content hash.

    Threading hints, tried in this order: ``references`` (provider message ids
    this one answers, e.g. In-Reply-To/References), ``ticket_hint`` (a ticket
    number the sender quoted, e.g. ``[#1234]``; only for the same customer),
    ``thread_key`` (a conversation id), and with ``match_subject`` the same
    customer's recent open ticket with the same normalised subject.
    ``message_ids`` are this message's own ids, recorded so later replies thread.
    A solved ticket takes the message (and reopens) unless ``reopen_window_s``
    is set and has passed since it was solved; a closed ticket never does: a
    new ticket starts. ``internal`` marks a message from staff (an escalation
    contact answering by mail): kept on the timeline, never a customer message.
    """

    channel: str
    dedupe_key: str
    sender: Sender
    subject: str
    body_text: str
    received_at: datetime
    dedupe_window_s: int | None = None
    category: str | None = None
    thread_key: str | None = None
    references: tuple[str, ...] = ()
    ticket_hint: int | None = None
    match_subject: bool = False
    message_ids: tuple[str, ...] = ()
    reopen_window_s: int | None = None
    internal: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundAttachment:
    """A file sent with an outbound message (already checked: it belongs to the ticket, within limits)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class OutboundMessage:
    """A message an agent or a rule sends to a customer through a channel.

    ``attachments`` is non-empty only on channels that send files (email and form tickets);
    the reply API refuses files for the others before anything is committed.
    """

    ticket_id: int
    channel: str
    to: str
    subject: str
    body_text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    attachments: tuple[OutboundAttachment, ...] = ()


@dataclass(frozen=True)
class SendResult:
    """What a channel plugin reports after sending: the provider's message id."""

    provider_message_id: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A message for a person or a team channel (not the customer's thread)."""

    target: str  # plugin target name: "email", "slack", "sms", "webhook", ...
    recipient: str
    subject: str
    body_text: str
    dedupe_key: str
    ticket_id: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    """What a notifier plugin reports after delivering a notification."""

    delivered: bool
    detail: str = ""
