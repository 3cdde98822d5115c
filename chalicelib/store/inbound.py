"""What ingesting one inbound message reads, in as few requests as DynamoDB allows.

First request (``first_read``): the delivery's dedupe record, the sender's identity pointer
and every threading reference the message would claim or follow. Second request
(``second_read``, only when there is something to read): the sender's customer and every
ticket header the references, a quoted number or the conversation point to. Everything
else the ingest needs is already in hand, so nothing is read twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.store import batch, customers, keys
from chalicelib.store.models import CustomerItem, DedupeItem, IdentityItem, RefItem, TicketItem
from chalicelib.store.threads import REF_SK
from chalicelib.store.tickets import DEDUPE_SK, IngestResult


@dataclass(frozen=True)
class FirstRead:
    """The dedupe record's verdict, the sender's customer id and who owns each reference."""

    duplicate: IngestResult | None
    customer_id: str | None
    owners: dict[tuple[str, str], int] = field(default_factory=dict)


def first_read(dedupe_key: str, identity: tuple[str, str] | None, refs: Iterable[tuple[str, str]],
               now: datetime) -> FirstRead:
    """One consistent batch read: dedupe record, identity pointer (``(kind, value)``), references."""
    dedupe = (keys.dedupe_pk(dedupe_key), DEDUPE_SK)
    ident = customers.identity_key_of(*identity) if identity and identity[1] else None
    wanted = {(keys.ref_pk(kind, value), REF_SK): (kind, value) for kind, value in refs}
    found = batch.get_raw([dedupe, *([ident] if ident else []), *wanted])
    duplicate = None
    record = batch.model_of(DedupeItem, found.get(dedupe))
    if record is not None and not (record.valid_until is not None and record.valid_until < now.timestamp()):
        duplicate = IngestResult(int(record.ticket_id), record.event_id or "", duplicate=True, created=False)
    pointer = batch.model_of(IdentityItem, found.get(ident)) if ident else None
    owners = {ref: int(RefItem.from_raw_data(found[key]).ticket_id) for key, ref in wanted.items() if key in found}
    return FirstRead(duplicate, pointer.customer_id if pointer else None, owners)


def second_read(customer_id: str | None, numbers: Iterable[int]) -> tuple[CustomerItem | None, dict[int, TicketItem]]:
    """One consistent batch read: the customer (followed to the surviving record if merged) and the
    ticket headers ``numbers``."""
    numbers = list(dict.fromkeys(n for n in numbers if n is not None))
    customer_key = (keys.customer_pk(customer_id), customers.CUSTOMER_SK) if customer_id else None
    wanted = [*([customer_key] if customer_key else []), *((keys.ticket_pk(n), keys.TICKET_SK) for n in numbers)]
    found = batch.get_raw(wanted)
    customer = batch.model_of(CustomerItem, found.get(customer_key)) if customer_key else None
    if customer is not None and customer.merged_into:
        customer = customers.resolve_customer(customer.merged_into)  # rare: a merged customer's old address
    headers = {n: TicketItem.from_raw_data(found[(keys.ticket_pk(n), keys.TICKET_SK)]) for n in numbers
               if (keys.ticket_pk(n), keys.TICKET_SK) in found}
    return customer, headers
