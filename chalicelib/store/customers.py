"""Customers and their identities (email address, phone, LINE/Slack user id)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import TransactWriteError
from ulid import ULID

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


def find_customer_id(kind: str, value: str) -> str | None:
    """The customer an identity points to, or None."""
    value = normalize_identity(kind, value)
    try:
        ident = IdentityItem.get(keys.identity_pk(kind, value), IDENTITY_SK)
    except IdentityItem.DoesNotExist:
        return None
    return ident.customer_id


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
        customer = get_customer(existing)
        if customer is not None:
            return customer
    customer_id = str(ULID())
    customer = CustomerItem(
        keys.customer_pk(customer_id),
        CUSTOMER_SK,
        customer_id=customer_id,
        name=name or None,
        email=email or None,
        created_at=now,
    )
    ident = IdentityItem(
        keys.identity_pk(kind, value), IDENTITY_SK, customer_id=customer_id, kind=kind, value=value
    )
    link = IdentityItem(
        keys.customer_pk(customer_id),
        f"{IDENTITY_SK}#{keys.identity_key(kind, value)}",
        customer_id=customer_id,
        kind=kind,
        value=value,
    )
    try:
        with transact_write() as tw:
            tw.save(customer, condition=CustomerItem.pk.does_not_exist())
            tw.save(ident, condition=IdentityItem.pk.does_not_exist())
            tw.save(link)
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
