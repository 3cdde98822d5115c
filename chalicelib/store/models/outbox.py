"""The durable outbox of notifications and its by-state index."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex

from chalicelib.store import schema
from chalicelib.store.models.base import _Base, _index


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
