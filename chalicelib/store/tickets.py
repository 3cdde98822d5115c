"""Ticket headers and their timelines: create and append (the reads are in ``ticket_reads``, re-exported here)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from ulid import ULID

from chalicelib.domain import EventType, InboundMessage, Priority, Status
from chalicelib.errors import Conflict
from chalicelib.store import keys, outbox, search, threads
from chalicelib.store.customers import NewCustomer
from chalicelib.store.models import CounterItem, CustomerItem, DedupeItem, EventItem, TicketItem
from chalicelib.store.threads import ref_item
from chalicelib.store.ticket_reads import (  # noqa: F401 - the reads, re-exported: callers use ``tickets.get_ticket``
    event_to_dict,
    events_after,
    get_event,
    get_ticket,
    get_timeline,
    get_with_timeline,
    headers_with_customers,
    ticket_to_dict,
    update_event_data,
)
from chalicelib.store.tx import MAX_TRANSACTION_ITEMS, failed_conditions, failed_keys, transact_write

log = logging.getLogger(__name__)
DEDUPE_SK = "DEDUPE"
DEDUPE_RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class IngestResult:
    """Outcome of recording an inbound message."""

    ticket_id: int
    event_id: str
    duplicate: bool
    created: bool
    ticket: TicketItem | None = None
    effects: list[dict[str, Any]] = field(default_factory=list)


Prepare = Callable[[TicketItem, dict[str, Any]], tuple[list[dict[str, Any]], list[dict[str, Any]]]]
"""Called with the new header and its first event: fills rule/SLA fields, returns (events, effects).
Effects carrying an outbox item (``outbox.EFFECT_KEY``) are written in the same transaction."""


def allocate_ticket_number() -> int:
    """Next human ticket number from an atomic counter (UpdateItem ADD)."""
    counter = CounterItem("COUNTER#ticket", "COUNTER")
    counter.update(actions=[CounterItem.value.add(1)])
    return int(counter.value)


def find_duplicate(dedupe_key: str, now: datetime) -> IngestResult | None:
    """The earlier result for this delivery key if it still counts, else None."""
    try:
        item = DedupeItem.get(keys.dedupe_pk(dedupe_key), DEDUPE_SK, consistent_read=True)
    except DedupeItem.DoesNotExist:
        return None
    if item.valid_until is not None and item.valid_until < now.timestamp():
        return None
    return IngestResult(int(item.ticket_id), item.event_id or "", duplicate=True, created=False)


def note_repeat(dedupe_key: str, raw_ref: str) -> None:
    """A repeated delivery kept its own raw object: remember it on the dedupe record, so a GDPR erasure
    of the ticket finds it too (one UpdateItem, only for repeats)."""
    from pynamodb.exceptions import UpdateError

    if not raw_ref:
        return
    try:
        DedupeItem(keys.dedupe_pk(dedupe_key), DEDUPE_SK).update(
            actions=[DedupeItem.repeat_raw_refs.add({raw_ref})], condition=DedupeItem.pk.exists())
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":  # erased meanwhile: nothing to note
            raise


def _message_event(number: int, msg: InboundMessage, raw_ref: str | None) -> EventItem:
    event_id = str(ULID.from_datetime(msg.received_at))
    return EventItem(
        keys.ticket_pk(number),
        keys.event_sk(event_id),
        event_id=event_id,
        type=EventType.INTERNAL_MESSAGE.value if msg.internal else EventType.MESSAGE_IN.value,
        at=msg.received_at,
        actor=f"{'contact' if msg.internal else 'customer'}:{msg.sender.identity_kind}:{msg.sender.identity_value}",
        data={
            "channel": msg.channel,
            "subject": msg.subject,
            "body_text": msg.body_text,
            "from": {"name": msg.sender.name, "email": msg.sender.email},
            "category": msg.category,
            "raw_ref": raw_ref,
            "message_ids": list(msg.message_ids),
            "dedupe_key": msg.dedupe_key,  # with thread_key: what a GDPR erasure must find again
            **({"thread_key": msg.thread_key} if msg.thread_key else {}),
            "metadata": dict(msg.metadata),
            **({"truncated": msg.metadata["truncated"]} if msg.metadata.get("truncated") else {}),
        },
    )


class ThreadClaimed(Conflict):
    """Another delivery started a ticket for this conversation or thread first: join that one."""


class SenderClaimed(Conflict):
    """A concurrent delivery created the customer of this sender first: use that customer."""


def _dedupe_condition(now: datetime) -> Any:
    return DedupeItem.pk.does_not_exist() | (DedupeItem.valid_until < int(now.timestamp()))


def create_ticket(
    msg: InboundMessage, customer: CustomerItem, *, now: datetime, raw_ref: str | None,
    prepare: Prepare | None = None, claims: Iterable[tuple[str, str]] = (),
    owners: Mapping[tuple[str, str], int] | None = None, new_customer: NewCustomer | None = None,
) -> IngestResult:
    """Create a ticket with its first message, exactly once per ``msg.dedupe_key``.

    Dedupe record, header, first event, the new customer (``new_customer``: its
    record and identity, conditional on the identity being new) and what
    ``prepare`` adds (rule events, SLA fields, queued notifications and
    auto-replies) are written in one transaction, so a crash leaves nothing
    half-written and a retry of the same delivery (even a concurrent one) returns
    the ticket the first delivery made. The caller has checked the dedupe record
    already (``find_duplicate``, or the ingest batch read); a stale check only costs
    the cancelled transaction and one read.

    The references in ``claims`` (the conversation, the message's ids and the ids it answers) are
    written on condition that they still point where ``owners`` said (nowhere, or a ticket that could
    not take the message): when a concurrent first message of the same conversation won,
    ``ThreadClaimed`` is raised and the caller threads the message into the winner's ticket;
    ``SenderClaimed`` when a concurrent delivery created this sender's customer first.
    """
    number = allocate_ticket_number()
    event = _message_event(number, msg, raw_ref)
    ticket = TicketItem(
        keys.ticket_pk(number),
        keys.TICKET_SK,
        number=number,
        status=Status.NEW.value,
        priority=Priority.NORMAL.value,
        channel=msg.channel,
        subject=msg.subject or "(no subject)",
        category=msg.category,
        customer_id=customer.customer_id,
        ticket_customer=customer.customer_id,
        customer_name=customer.name or msg.sender.name or None,
        customer_email=customer.email or msg.sender.email or None,
        created_at=msg.received_at,
        updated_at=now,
        last_customer_message_at=msg.received_at,
    )
    extra: list[EventItem] = []
    effects: list[dict[str, Any]] = []
    if prepare is not None:
        from chalicelib.store.changes import event_items

        planned, effects = prepare(ticket, event_to_dict(event))
        extra = event_items(number, planned, max(now, msg.received_at), "system")
    dedupe = _dedupe_item(msg, number, event.event_id, now)
    claimed = list(dict.fromkeys([*claims, *threads.own_refs(msg)]))
    known = owners or {}
    notifications = outbox.unique(outbox.attached(effects))
    # DynamoDB holds at most 100 items in a transaction. Past that, in this order: the search postings
    # go after the commit, the claims of the ids the message answers are cut (its own ids and the
    # conversation always stay), then the last rule events and notifications go after the commit.
    fixed = 3 + (3 if new_customer else 0) + len(threads.fit_claims(claimed, msg, 0))
    postings = search.staged_count(ticket, created=True)
    postings_later = fixed + len(extra) + len(notifications) + len(claimed) + postings > MAX_TRANSACTION_ITEMS
    room = MAX_TRANSACTION_ITEMS - fixed
    late_events, extra = extra[max(0, room):], extra[:max(0, room)]
    room -= len(extra)
    late_notifications, notifications = notifications[max(0, room):], notifications[:max(0, room)]
    room -= len(notifications)
    own = len(threads.fit_claims(claimed, msg, 0))
    claimed = threads.fit_claims(claimed, msg, own + max(0, room - (0 if postings_later else postings)))
    refs = [(ref_item(kind, value, number, now), known.get((kind, value))) for kind, value in claimed]
    tw = transact_write()
    try:
        with tw:
            tw.save(dedupe, condition=_dedupe_condition(now))
            tw.save(ticket, condition=TicketItem.pk.does_not_exist())
            tw.save(event)
            for item in extra:
                tw.save(item)
            for item, owner in refs:
                tw.save(item, condition=threads.still_owned_by(owner, now))
            if new_customer is not None:
                new_customer.stage(tw)
            outbox.save_new(tw, notifications)
            if not postings_later:
                search.stage(tw, ticket, created=True)
    except TransactWriteError as err:
        failed = failed_keys(tw, err)
        if dedupe.pk in failed:
            earlier = find_duplicate(msg.dedupe_key, now)
            if earlier is None:
                raise
            return earlier
        if failed & {item.pk for item, _owner in refs}:
            raise ThreadClaimed(f"a concurrent delivery started the ticket of {msg.dedupe_key}") from err
        if new_customer is not None and failed & {new_customer.identity.pk, new_customer.item.pk}:
            raise SenderClaimed(f"a concurrent delivery created the customer of {msg.dedupe_key}") from err
        raise
    if postings_later:
        search.write_new(ticket)
    else:
        search.committed(ticket)
    _write_overflow(number, late_events, late_notifications)
    return IngestResult(number, event.event_id, duplicate=False, created=True, ticket=ticket, effects=effects)


def _write_overflow(number: int, events: list[EventItem], notifications: list[Any]) -> None:
    """What did not fit in the creating transaction, written right after it (rare: dozens of rules
    firing on one new ticket). Notifications keep their keys, so none is written twice."""
    if not events and not notifications:
        return
    log.warning("ticket %s: %d rule events and %d notifications written after the commit (transaction full)",
                number, len(events), len(notifications))
    with EventItem.batch_write() as batch:
        for item in events:
            batch.save(item)
    for item in notifications:
        outbox.put_new(item)


def _dedupe_item(msg: InboundMessage, number: int, event_id: str, now: datetime) -> DedupeItem:
    valid_until = now + timedelta(seconds=msg.dedupe_window_s) if msg.dedupe_window_s else None
    return DedupeItem(
        keys.dedupe_pk(msg.dedupe_key),
        DEDUPE_SK,
        ticket_id=number,
        event_id=event_id,
        valid_until=int(valid_until.timestamp()) if valid_until else None,
        expires_at=now + DEDUPE_RETENTION,
    )


def append_message(
    ticket: TicketItem, msg: InboundMessage, *, now: datetime, raw_ref: str | None, prepare: Prepare,
    new_customer: NewCustomer | None = None,
) -> IngestResult:
    """Add a message to an existing ticket, exactly once per ``msg.dedupe_key``.

    Dedupe record, event, threading refs, the sender's new customer (if any), queued
    notifications and auto-replies and the header change ``prepare`` makes (status,
    clocks) commit together, and only if nobody changed the ticket since it was read
    (``Conflict`` otherwise: the caller retries; ``SenderClaimed`` when a concurrent
    delivery created the sender's customer first).
    """
    from chalicelib.store.changes import event_items

    number = int(ticket.number)
    event = _message_event(number, msg, raw_ref)
    planned, effects = prepare(ticket, event_to_dict(event))
    extra = event_items(number, planned, max(now, msg.received_at), "system")
    dedupe = _dedupe_item(msg, number, event.event_id, now)
    notifications = outbox.unique(outbox.attached(effects))
    room = MAX_TRANSACTION_ITEMS - 3 - len(threads.own_refs(msg)) - (3 if new_customer else 0) - search.staged_count(
        ticket)
    late_events, extra = extra[max(0, room):], extra[:max(0, room)]
    room -= len(extra)
    late_notifications, notifications = notifications[max(0, room):], notifications[:max(0, room)]
    tw = transact_write()
    try:
        with tw:
            tw.save(dedupe, condition=_dedupe_condition(now))
            tw.save(ticket)
            for item in [event, *extra, *threads.message_refs(msg, number, now)]:
                tw.save(item)
            if new_customer is not None:
                new_customer.stage(tw)
            outbox.save_new(tw, notifications)
            search.stage(tw, ticket)
    except TransactWriteError as err:
        failed = failed_keys(tw, err)
        if dedupe.pk in failed:
            earlier = find_duplicate(msg.dedupe_key, now)
            if earlier is not None:
                return earlier
        if new_customer is not None and failed & {new_customer.identity.pk, new_customer.item.pk}:
            raise SenderClaimed(f"a concurrent delivery created the customer of {msg.dedupe_key}") from err
        if failed:
            raise Conflict(f"ticket {number} changed meanwhile", {"ticket_id": number}) from err
        raise
    search.committed(ticket)
    _write_overflow(number, late_events, late_notifications)
    return IngestResult(number, event.event_id, duplicate=False, created=False, ticket=ticket, effects=effects)


def save_if_unchanged(ticket: TicketItem) -> bool:
    """Save the header only if its version is still the one read; False when someone changed it.
    Inside an authenticated request it is a one-item transaction, so the agent check rides along."""
    from chalicelib.store import auth

    if auth.current_guard() is not None:
        try:
            with transact_write() as tw:
                tw.save(ticket)
        except TransactWriteError as err:
            if failed_conditions(err)[:1] == [True]:
                return False
            raise
        return True
    try:
        ticket.save()
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
