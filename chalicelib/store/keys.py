"""Key builders for the single table. Every key prefix lives here."""

from __future__ import annotations

import hashlib

MAX_KEY_PART_BYTES = 512
"""Longest sender-controlled part of a key kept as is; longer ones are hashed (DynamoDB keys are at most
2,048 bytes (partition) and 1,024 bytes (sort))."""

TICKET_SK = "TICKET"
OUTBOX_SK = "OUTBOX"
EVENT_PREFIX = "EV#"


def bounded(value: str) -> str:
    """``value`` itself when short enough for a key, else ``sha256:<hex>`` of it (same value, same key)."""
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw) <= MAX_KEY_PART_BYTES:
        return value
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def ticket_pk(number: int) -> str:
    """Partition of a ticket: its header and its timeline."""
    return f"TICKET#{number}"


def event_sk(event_id: str) -> str:
    """Sort key of a timeline event (ULIDs sort by time)."""
    return f"{EVENT_PREFIX}{event_id}"


def customer_pk(customer_id: str) -> str:
    """Partition of a customer and its identity links."""
    return f"CUSTOMER#{customer_id}"


def identity_key(kind: str, value: str) -> str:
    """Identity key, e.g. ``email#sato@example.jp``."""
    return f"{kind}#{bounded(value)}"


def identity_pk(kind: str, value: str) -> str:
    """Partition of the identity -> customer pointer."""
    return f"IDENT#{identity_key(kind, value)}"


def dedupe_pk(key: str) -> str:
    """Partition of an idempotency record."""
    return f"DEDUPE#{bounded(key)}"


def agent_pk(agent_id: str) -> str:
    """Partition of an agent."""
    return f"AGENT#{bounded(agent_id)}"


def token_pk(token_hash: str) -> str:
    """Partition of an API token (by hash)."""
    return f"TOKEN#{token_hash}"


def due_shard_key(shard: int) -> str:
    """Partition key of one write shard of the due index."""
    return f"DUE#{shard}"


def due_shard(ticket_number: int, shards: int) -> str:
    """Write shard of the due index for a ticket."""
    return due_shard_key(ticket_number % shards)


def firing_pk(dedupe_key: str) -> str:
    """Partition of a rule firing record (rule#ticket#instance)."""
    return f"FIRED#{bounded(dedupe_key)}"


def ref_pk(kind: str, value: str) -> str:
    """Partition of a threading reference (``msg`` id or conversation ``thread``)."""
    return f"REF#{kind}#{bounded(value)}"


def outbox_id(dedupe_key: str) -> str:
    """Id of the outbox item of a notification: a digest of its dedupe key (URL-safe, fixed length)."""
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


def outbox_pk(outbox_id: str) -> str:
    """Partition of an outbox item (one notification to deliver)."""
    return f"OUTBOX#{outbox_id}"


KPI_DAY_PK = "KPI#DAY"
KPI_BACKLOG_PK = "KPI#BACKLOG"


def kpi_day_sk(day: str, part: int = 0) -> str:
    """Sort key of (a part of) the KPI aggregate or backlog snapshot of local day ``YYYY-MM-DD``."""
    return day if part == 0 else f"{day}#{part}"
