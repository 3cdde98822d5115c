"""Customers with their identities, and agents with their API tokens."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex

from chalicelib.store import schema
from chalicelib.store.models.base import _Base, _index


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
    erasure = JSONAttribute(null=True)  # {"state", "started_at", "actor", "counts", ...} (store.erasure)
    erase_lease = NumberAttribute(null=True)  # epoch seconds: one erasure request at a time
    merged_from = UnicodeSetAttribute(null=True)  # customers merged into this one (erased with it)


class IdentityItem(_Base):
    """An identity -> customer pointer. ``pk=IDENT#<kind>#<value>``, ``sk=IDENT``.

    The customer also holds a link item ``pk=CUSTOMER#<id>``, ``sk=IDENT#<kind>#<value>``
    so a customer's identities are one query away.
    """

    customer_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = UnicodeAttribute()


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


class TokenItem(_Base):
    """An API token, stored only as its SHA-256. ``pk=TOKEN#<sha256>``, ``sk=TOKEN``."""

    agent_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
