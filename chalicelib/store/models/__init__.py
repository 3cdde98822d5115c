"""pynamodb models over the single service table (see ``schema``), one module per item family.

``base`` (the base model and its shared connection), ``tickets`` (headers, events, views' indexes),
``people`` (customers, identities, agents, tokens), ``bookkeeping`` (firings, references, counters,
dedupe, search postings, audit) and ``outbox``. Every name is re-exported here.
"""

from chalicelib.store.models.base import _Base, _index, _Lazy, _TableMeta, shared_connection
from chalicelib.store.models.bookkeeping import (
    AuditItem,
    CounterItem,
    DedupeItem,
    FiringItem,
    RefItem,
    SearchItem,
)
from chalicelib.store.models.outbox import OutboxIndex, OutboxItem
from chalicelib.store.models.people import AgentItem, AgentsIndex, CustomerItem, IdentityItem, TokenItem
from chalicelib.store.models.tickets import (
    ESCALATED_LIST,
    AllTicketsIndex,
    AssigneeIndex,
    CustomerTicketsIndex,
    DueIndex,
    EscalatedIndex,
    EventDayIndex,
    EventItem,
    SlaIndex,
    StatusIndex,
    TicketItem,
)

__all__ = [
    "ESCALATED_LIST", "AgentItem", "AgentsIndex", "AllTicketsIndex", "AssigneeIndex", "AuditItem",
    "CounterItem", "CustomerItem", "CustomerTicketsIndex", "DedupeItem", "DueIndex", "EscalatedIndex",
    "EventDayIndex", "EventItem", "FiringItem", "IdentityItem", "OutboxIndex", "OutboxItem", "RefItem",
    "SearchItem", "SlaIndex", "StatusIndex", "TicketItem", "TokenItem", "_Base", "_Lazy", "_TableMeta",
    "_index", "shared_connection",
]
