"""GDPR erasure in the table and the raw bucket: one customer's identities, tickets and what hangs off them.

What is removed and what is kept is decided in ``chalicelib.privacy`` (pure); this module finds the
items and writes. Every step is idempotent (a retry after a crash finishes the job) and bounded per
ticket: one Query for the timeline, batched writes (25 items a request), one batch read each for the
ticket's threading references, dedupe records and outbox items, one S3 request per 1,000 objects and
a single transaction for the header (which is the ticket's "done" mark).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from ulid import ULID

from chalicelib import privacy
from chalicelib.errors import Conflict
from chalicelib.store import audit, files, keys, outbox, raw, search
from chalicelib.store.models import (
    AuditItem,
    CustomerItem,
    DedupeItem,
    EventItem,
    IdentityItem,
    OutboxItem,
    RefItem,
    TicketItem,
)
from chalicelib.store.threads import REF_SK
from chalicelib.store.tickets import DEDUPE_SK, get_ticket, get_timeline
from chalicelib.store.tx import failed_conditions, transact_write

ERASED_EVENT = "customer_erased"
LEASE = timedelta(seconds=60)


def _link_items(customer_id: str) -> list[IdentityItem]:
    return list(IdentityItem.query(keys.customer_pk(customer_id), IdentityItem.sk.startswith("IDENT#")))


def personal_values(customer: CustomerItem) -> list[str]:
    """What identifies the customer: name, email, notes and every identity value."""
    values = [customer.name, customer.email, *(i.value for i in _link_items(customer.customer_id))]
    return [v for v in values if v]


def claim(customer: CustomerItem, actor: str, found: dict[str, Any], now: datetime) -> bool:
    """Start (or resume) the erasure: lease the customer for ``LEASE`` so two requests never work on it at
    once. The first claim records who started it and what ``found`` holds (the values to look for, the
    customers merged in): later requests work from that. False if another request holds the lease."""
    state = dict(customer.erasure or {})
    if not state:
        state = {"state": "in_progress", "started_at": now.isoformat(), "actor": actor, "counts": {}, **found}
    until = int((now + LEASE).timestamp())
    free = CustomerItem.erase_lease.does_not_exist() | (CustomerItem.erase_lease < int(now.timestamp()))
    try:
        customer.update(actions=[CustomerItem.erase_lease.set(until), CustomerItem.erasure.set(state)],
                        condition=free)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def drop_identities(customer: CustomerItem) -> int:
    """Delete the customer's identities (pointer and link): from now on the same address is a stranger and
    its next message makes a new customer. A pointer that moved to another customer is left alone."""
    links = _link_items(customer.customer_id)
    if not links:
        return 0
    pointers = {keys.identity_pk(i.kind, i.value): i for i in links}
    found = IdentityItem.batch_get([(pk, "IDENT") for pk in pointers], consistent_read=True)
    mine = [p for p in found if p.customer_id == customer.customer_id]
    with IdentityItem.batch_write() as batch:
        for item in [*mine, *links]:
            batch.delete(item)
    return len(links)


def pending_tickets(customer_id: str, limit: int) -> list[TicketItem]:
    """Up to ``limit`` of the customer's tickets not erased yet (customer tickets index, oldest first)."""
    return list(TicketItem.by_customer.query(customer_id, filter_condition=TicketItem.erased_at.does_not_exist(),
                                             limit=limit))


def _actor_values(events: Iterable[EventItem]) -> set[str]:
    found: set[str] = set()
    for e in events:
        if (e.actor or "").startswith("customer:"):
            found.add(e.actor.split(":", 2)[-1])
        sender = (e.data or {}).get("from")
        if e.type in ("message_in", "internal_message") and isinstance(sender, dict):
            found.update(v for v in (sender.get("name"), sender.get("email")) if v and e.actor.startswith("customer:"))
    return found


def _pointing(model: type, pks: Iterable[str], sk: str, number: int) -> list[Any]:
    """The items (``pk``, ``sk``) that point at ticket ``number`` (batch reads of 100 keys)."""
    wanted = list(dict.fromkeys(pks))
    found = []
    for start in range(0, len(wanted), 100):
        chunk = [(pk, sk) for pk in wanted[start:start + 100]]
        found += [i for i in model.batch_get(chunk, consistent_read=True) if int(i.ticket_id or 0) == number]
    return found


def _delete(model: type, doomed: list[Any]) -> int:
    """Delete these items (batch writes of 25)."""
    if doomed:
        with model.batch_write() as batch:
            for item in doomed:
                batch.delete(item)
    return len(doomed)


def unsent_outbox(numbers: list[int]) -> list[OutboxItem]:
    """Notifications of these tickets that are not sent yet (pending, sending, failed): one Query per state
    on the outbox index, filtered (the cost follows the unsent backlog, not the table)."""
    if not numbers:
        return []
    found: list[OutboxItem] = []
    for state in (outbox.PENDING, outbox.SENDING, outbox.FAILED):
        found += list(OutboxItem.by_state.query(state, filter_condition=OutboxItem.ticket_id.is_in(*numbers)))
    return found


def _outbox(number: int, ids: set[str], unsent: list[OutboxItem], wanted: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    items = {i.outbox_id: i for i in unsent if int(i.ticket_id or 0) == number}
    missing = [keys.outbox_pk(i) for i in ids if i not in items]
    for start in range(0, len(missing), 100):
        for item in OutboxItem.batch_get([(pk, keys.OUTBOX_SK) for pk in missing[start:start + 100]]):
            items[item.outbox_id] = item
    cancel = [i for i in items.values() if i.outbox_state != outbox.SENT]
    if cancel:
        with OutboxItem.batch_write() as batch:  # no version check: cancelled whatever a dispatcher does now
            for item in cancel:
                batch.delete(item)
    counts["outbox_cancelled"] = len(cancel)
    for item in items.values():
        if item.outbox_state == outbox.SENT and item.body != privacy.ERASED:
            item.update(actions=[OutboxItem.subject.set(privacy.ERASED), OutboxItem.body.set(privacy.ERASED),
                                 OutboxItem.recipient.remove(), OutboxItem.to.remove(),
                                 OutboxItem.data.set(privacy.scrub_event_data(item.data, wanted)),
                                 OutboxItem.detail.remove(), OutboxItem.attempt_log.remove()])
            counts["outbox_scrubbed"] += 1
    return counts


def _bucket_objects(named: set[str], number: int) -> list[str]:
    found = set(named)
    found.update(raw.list_keys(files.ticket_prefix(number)))  # reply uploads and extracted inbound parts
    return sorted(found)


def erase_ticket(ticket: TicketItem, values: list[str], actor: str, unsent: list[OutboxItem],
                 now: datetime) -> Counter[str]:
    """Remove the customer's personal data from one ticket, its timeline, its raw objects, threading
    references, dedupe records and notifications; the header (subject gone, ``erased_at`` set) and an
    ``customer_erased`` event with the counts are written last, together: the ticket's "done" mark."""
    number = int(ticket.number)
    events = get_timeline(number)
    wanted = privacy.needles([*values, ticket.customer_name, ticket.customer_email, *_actor_values(events)])
    counts: Counter[str] = Counter(tickets=1)
    refs: set[tuple[str, str]] = set()
    dedupe: set[str] = set()
    objects: set[str] = set()
    outbox_ids: set[str] = set()
    changed: list[EventItem] = []
    for event in events:
        data = event.data or {}
        refs |= privacy.references(data, ticket.channel)
        objects |= privacy.stored_objects(data)
        if data.get("dedupe_key"):
            dedupe.add(str(data["dedupe_key"]))
        if data.get("outbox_id"):
            outbox_ids.add(str(data["outbox_id"]))
        clean = privacy.scrub_event_data(data, wanted, event.type)
        actor_clean = privacy.scrub_actor(event.actor or "", wanted)
        if event.type != ERASED_EVENT and (clean != data or actor_clean != event.actor):
            event.data, event.actor = clean, actor_clean
            changed.append(event)
    if changed:
        with EventItem.batch_write() as batch:
            for event in changed:
                batch.save(event)
    counts["events_scrubbed"] = len(changed)
    records = _pointing(DedupeItem, [keys.dedupe_pk(k) for k in dedupe], DEDUPE_SK, number)
    for record in records:  # repeated deliveries kept their own raw objects
        objects |= set(record.repeat_raw_refs or ())
    counts["objects_deleted"] = raw.delete_keys(_bucket_objects(objects, number))
    counts["references_deleted"] = _delete(RefItem, _pointing(RefItem, [keys.ref_pk(k, v) for k, v in refs],
                                                              REF_SK, number))
    counts["dedupe_deleted"] = _delete(DedupeItem, records)
    counts.update(_outbox(number, outbox_ids, unsent, wanted))
    counts["postings_deleted"] = len(search.subject_terms(ticket.subject))
    _finish_ticket(number, actor, counts, wanted, now)
    return counts


def _finish_ticket(number: int, actor: str, counts: Counter[str], wanted: list[str], now: datetime) -> None:
    event_id = str(ULID.from_datetime(now))
    for _attempt in range(5):
        ticket = get_ticket(number)
        if ticket.erased_at is not None:
            return
        mark = EventItem(keys.ticket_pk(number), keys.event_sk(event_id), event_id=event_id, type=ERASED_EVENT,
                         at=now, actor=actor, data={"counts": dict(counts)})
        try:
            with transact_write() as tw:
                search.remove_subject(ticket, tw)
                ticket.subject = privacy.ERASED_SUBJECT
                ticket.customer_name = ticket.customer_email = None
                ticket.escalation = privacy.scrub_escalation(ticket.escalation, wanted)
                ticket.erased_at = now
                tw.save(ticket)
                tw.save(mark)
        except TransactWriteError as err:
            if any(failed_conditions(err)):
                continue  # someone changed the ticket meanwhile: read it again
            raise
        return
    raise Conflict(f"ticket {number} kept changing during the erasure; try again", {"ticket_id": number})


def save_progress(customer: CustomerItem, counts: Counter[str]) -> dict[str, Any]:
    """Add this request's counts to the customer's erasure record and release the lease."""
    state = dict(customer.erasure or {})
    state["counts"] = dict(Counter(state.get("counts") or {}) + counts)
    customer.update(actions=[CustomerItem.erasure.set(state), CustomerItem.erase_lease.remove()])
    return state


def scrub_audit(customer_id: str, values: list[str]) -> int:
    """Remove personal data from the admin timeline's entries about this customer (``customer_updated``
    carries names and notes as from/to). One Query on the audit partition, filtered by target."""
    wanted = privacy.needles(values)
    changed = 0
    target = f"customer:{customer_id}"
    for item in AuditItem.query(audit.AUDIT_PK, AuditItem.sk.startswith(keys.EVENT_PREFIX),
                                filter_condition=AuditItem.target == target):
        clean = privacy.scrub_event_data(item.data, wanted, "customer_updated")
        clean.pop("erased", None)
        if clean != (item.data or {}):
            item.update(actions=[AuditItem.data.set(clean)])
            changed += 1
    return changed


def finish(customer: CustomerItem, counts: Counter[str], now: datetime) -> dict[str, Any]:
    """The customer record keeps only its id, dates and the counts: name, email, notes, tags and language
    are removed, the values looked for are forgotten, the lease released."""
    state = dict(customer.erasure or {})
    state.pop("values", None)
    state.update(state="erased", finished_at=now.isoformat(),
                 counts=dict(Counter(state.get("counts") or {}) + counts))
    customer.update(actions=[
        CustomerItem.name.remove(), CustomerItem.email.remove(), CustomerItem.notes.remove(),
        CustomerItem.tags.remove(), CustomerItem.lang.remove(), CustomerItem.vip.set(False),
        CustomerItem.erased_at.set(now), CustomerItem.erasure.set(state), CustomerItem.erase_lease.remove()])
    return state


def erase_merged_record(customer_id: str, now: datetime) -> bool:
    """A customer merged into the erased one keeps its old name and email: remove them too."""
    try:
        merged = CustomerItem.get(keys.customer_pk(customer_id), "CUSTOMER")
    except CustomerItem.DoesNotExist:
        return False
    if merged.erased_at is not None:
        return False
    merged.update(actions=[CustomerItem.name.remove(), CustomerItem.email.remove(), CustomerItem.notes.remove(),
                           CustomerItem.tags.remove(), CustomerItem.erased_at.set(now)])
    return True
