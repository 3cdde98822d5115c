"""Items that keep the service exactly-once and findable: firings, thread references,
counters, idempotency records, search postings and the admin audit timeline."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store.models.base import _Base


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


class CounterItem(_Base):
    """An atomic counter (``UpdateItem ADD``). ``pk=COUNTER#<name>``, ``sk=COUNTER``."""

    value = NumberAttribute(default=0)


class DedupeItem(_Base):
    """Idempotency record. ``pk=DEDUPE#<key>``, ``sk=DEDUPE``; expires_at is for clean-up only."""

    ticket_id = NumberAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    valid_until = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    repeat_raw_refs = UnicodeSetAttribute(null=True)  # raw objects of repeated deliveries (GDPR erasure)


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
