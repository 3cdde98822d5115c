"""Customers and their identities (email address, phone, LINE/Slack user id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from ulid import ULID

from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem, IdentityItem
from chalicelib.store.tx import failed_conditions, transact_write

IDENTITY_SK = "IDENT"
CUSTOMER_SK = "CUSTOMER"


def normalize_identity(kind: str, value: str) -> str:
    """Canonical form of an identity value (email addresses are case-insensitive here)."""
    value = value.strip()
    return value.lower() if kind == "email" else value


def get_customer(customer_id: str) -> CustomerItem | None:
    """The customer, or None."""
    try:
        return CustomerItem.get(keys.customer_pk(customer_id), CUSTOMER_SK)
    except CustomerItem.DoesNotExist:
        return None


def get_with_identities(customer_id: str) -> tuple[CustomerItem | None, list[dict[str, str]]]:
    """The customer and its identities (``{"kind", "value"}``) in one Query of its partition."""
    customer: CustomerItem | None = None
    identities: list[dict[str, str]] = []
    start: dict[str, Any] | None = None
    conn = CustomerItem._get_connection()
    while True:
        page = conn.query(keys.customer_pk(customer_id), exclusive_start_key=start)
        for raw in page.get("Items", []):
            sk = raw["sk"]["S"]
            if sk == CUSTOMER_SK:
                customer = CustomerItem.from_raw_data(raw)
            elif sk.startswith(f"{IDENTITY_SK}#"):
                ident = IdentityItem.from_raw_data(raw)
                identities.append({"kind": ident.kind, "value": ident.value})
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    return customer, identities


def find_customer_id(kind: str, value: str) -> str | None:
    """The customer an identity points to, or None."""
    value = normalize_identity(kind, value)
    try:
        ident = IdentityItem.get(keys.identity_pk(kind, value), IDENTITY_SK, consistent_read=True)
    except IdentityItem.DoesNotExist:
        return None
    return ident.customer_id


@dataclass(frozen=True)
class NewCustomer:
    """A customer not yet stored, with its identity pointer and link: written with the first ticket
    change it makes (``stage``), so a new sender costs no request of its own."""

    item: CustomerItem
    identity: IdentityItem
    link: IdentityItem

    def stage(self, tw: Any) -> None:
        """Add the three puts to a transaction; it is cancelled when the identity (or the id) exists."""
        tw.save(self.item, condition=CustomerItem.pk.does_not_exist())
        tw.save(self.identity, condition=IdentityItem.pk.does_not_exist())
        tw.save(self.link)


def new_customer(kind: str, value: str, *, name: str, email: str, now: datetime) -> NewCustomer:
    """The items of a new customer owning the identity ``kind``/``value`` (nothing is written)."""
    value = normalize_identity(kind, value)
    customer_id = str(ULID())
    customer = CustomerItem(keys.customer_pk(customer_id), CUSTOMER_SK, customer_id=customer_id,
                            name=name or None, email=email or None, created_at=now)
    ident = IdentityItem(keys.identity_pk(kind, value), IDENTITY_SK, customer_id=customer_id, kind=kind, value=value)
    link = IdentityItem(keys.customer_pk(customer_id), f"{IDENTITY_SK}#{keys.identity_key(kind, value)}",
                        customer_id=customer_id, kind=kind, value=value)
    return NewCustomer(customer, ident, link)


def identity_key_of(kind: str, value: str) -> tuple[str, str]:
    """Table key of the identity pointer of ``kind``/``value``."""
    return keys.identity_pk(kind, normalize_identity(kind, value)), IDENTITY_SK


def find_or_create_customer(
    kind: str, value: str, *, name: str, email: str, now: datetime
) -> CustomerItem:
    """The customer owning this identity, created (with the identity) if none does.

    Safe under concurrency: the identity is written with a condition, so two
    racing first messages from one address end with one customer.
    """
    value = normalize_identity(kind, value)
    existing = find_customer_id(kind, value)
    if existing:
        customer = resolve_customer(existing)
        if customer is not None:
            return customer
    new = new_customer(kind, value, name=name, email=email, now=now)
    customer = new.item
    try:
        with transact_write() as tw:
            new.stage(tw)
    except TransactWriteError as err:
        if not any(failed_conditions(err)):
            raise
        winner = find_customer_id(kind, value)
        found = get_customer(winner) if winner else None
        if found is None:
            raise
        return found
    return customer


def list_identities(customer_id: str) -> list[dict[str, str]]:
    """A customer's identities as ``{"kind", "value"}`` dicts."""
    items = IdentityItem.query(
        keys.customer_pk(customer_id), IdentityItem.sk.startswith(f"{IDENTITY_SK}#")
    )
    return [{"kind": i.kind, "value": i.value} for i in items]


def resolve_customer(customer_id: str) -> CustomerItem | None:
    """The customer, following ``merged_into`` to the surviving record (None if missing)."""
    seen: set[str] = set()
    customer = get_customer(customer_id)
    while customer is not None and customer.merged_into and customer.customer_id not in seen:
        seen.add(customer.customer_id)
        customer = get_customer(customer.merged_into)
    return customer


def customer_tickets(customer_id: str, limit: int = 50) -> list[Any]:
    """The customer's tickets, newest first (the customer tickets index)."""
    from chalicelib.store.models import TicketItem

    return list(TicketItem.by_customer.query(customer_id, scan_index_forward=False, limit=limit))


def _identity_items(customer_id: str) -> list[IdentityItem]:
    return list(IdentityItem.query(keys.customer_pk(customer_id), IdentityItem.sk.startswith(f"{IDENTITY_SK}#")))


def merge_customers(survivor_id: str, merged_id: str, now: datetime) -> dict[str, Any]:
    """Merge ``merged_id`` into ``survivor_id``: identities, tickets and profile; the other is marked merged.

    Identities move in one transaction with the ``merged_into`` mark (so every
    address then finds the survivor); tickets move one by one through the
    customer tickets index, version-checked. Re-running a merge finishes an
    interrupted one. Returns what moved.
    """
    survivor, merged = get_customer(survivor_id), get_customer(merged_id)
    if survivor is None or merged is None:
        raise NotFound(f"customer {survivor_id if survivor is None else merged_id} not found")
    if survivor_id == merged_id or survivor.merged_into:
        raise ValidationFailed([{"field": "customer_id", "pointer": "/customer_id",
                                 "message": "cannot merge a customer into itself or into a merged customer"}])
    if merged.merged_into and merged.merged_into != survivor_id:
        raise Conflict(f"customer {merged_id} was already merged into {merged.merged_into}",
                       {"merged_into": merged.merged_into})
    links = _identity_items(merged_id)
    with transact_write() as tw:
        for link in links:
            tw.save(IdentityItem(keys.identity_pk(link.kind, link.value), IDENTITY_SK, customer_id=survivor_id,
                                 kind=link.kind, value=link.value))
            tw.save(IdentityItem(keys.customer_pk(survivor_id),
                                 f"{IDENTITY_SK}#{keys.identity_key(link.kind, link.value)}",
                                 customer_id=survivor_id, kind=link.kind, value=link.value))
            tw.delete(link)
        tw.update(merged, actions=[CustomerItem.merged_into.set(survivor_id)])
        actions = [CustomerItem.vip.set(bool(survivor.vip or merged.vip)), CustomerItem.merged_from.add({merged_id})]
        if merged.tags:
            actions.append(CustomerItem.tags.add(set(merged.tags)))
        if not survivor.name and merged.name:
            actions.append(CustomerItem.name.set(merged.name))
        if not survivor.email and merged.email:
            actions.append(CustomerItem.email.set(merged.email))
        tw.update(survivor, actions=actions)
    moved = [_move_ticket(t, merged_id, survivor_id) for t in _all_tickets(merged_id)]
    return {"customer_id": survivor_id, "merged_id": merged_id, "identities": [f"{i.kind}:{i.value}" for i in links],
            "tickets": [n for n in moved if n is not None]}


def _all_tickets(customer_id: str) -> list[Any]:
    from chalicelib.store.models import TicketItem

    return list(TicketItem.by_customer.query(customer_id))


def _move_ticket(ticket: Any, old_id: str, new_id: str) -> int | None:
    from pynamodb.exceptions import UpdateError

    from chalicelib.store.models import TicketItem

    number = int(ticket.number)
    for _attempt in range(4):
        fresh = TicketItem.get(ticket.pk, ticket.sk, consistent_read=True)
        if fresh.customer_id != old_id:
            return None
        try:
            fresh.update(actions=[TicketItem.customer_id.set(new_id), TicketItem.ticket_customer.set(new_id)])
            return number
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    raise Conflict(f"ticket {number} kept changing while merging customers", {"ticket_id": number})


def update_customer(customer_id: str, change: dict[str, Any]) -> tuple[CustomerItem, dict[str, Any]]:
    """Set ``vip``, ``lang``, ``name``, ``notes`` (``None`` clears); returns the customer and what changed."""
    customer = resolve_customer(customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id!r} not found")
    changed: dict[str, Any] = {}
    actions = []
    for name, value in change.items():
        old = getattr(customer, name)
        if old == value:
            continue
        changed[name] = {"from": old, "to": value}
        attr = getattr(CustomerItem, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    if actions:
        customer.update(actions=actions)
    return customer, changed
