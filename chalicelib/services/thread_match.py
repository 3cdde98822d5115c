"""Which existing ticket an inbound message belongs to, if any (see ``InboundMessage``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain import ACTIVE_STATUSES, InboundMessage, Status
from chalicelib.errors import NotFound
from chalicelib.store import threads, tickets
from chalicelib.store.models import TicketItem

SUBJECT_MATCH_DAYS = 30
_ACTIVE = {s.value for s in ACTIVE_STATUSES}


def accepts(ticket: TicketItem, msg: InboundMessage, now: datetime) -> bool:
    """Can the ticket take this message? Closed or erased (GDPR) never; solved within the reopen window."""
    if ticket.status == Status.CLOSED.value or ticket.erased_at is not None:
        return False
    if ticket.status == Status.SOLVED.value and msg.reopen_window_s is not None and ticket.solved_at:
        return (now - ticket.solved_at).total_seconds() <= msg.reopen_window_s
    return True


def _get(number: int | None) -> TicketItem | None:
    if number is None:
        return None
    try:
        return tickets.get_ticket(number)
    except NotFound:
        return None


@dataclass(frozen=True)
class Match:
    """Where a message goes: the ticket to append to (None: start one) and who owns its references now."""

    ticket: TicketItem | None
    owners: dict[tuple[str, str], int] = field(default_factory=dict)
    """Current ticket of each reference the message would claim (``claims``); absent ones are free."""


def claims(msg: InboundMessage) -> list[tuple[str, str]]:
    """The references a message's new ticket takes: the conversation, its own ids and (bounded) the ids it
    answers, so concurrent first messages of one conversation or thread race on the same keys."""
    refs = [("msg", r) for r in threads.lookup_refs(msg.references)]
    refs += [("msg", m) for m in msg.message_ids]
    if msg.thread_key:
        refs.append(("thread", msg.thread_key))
    return list(dict.fromkeys(refs))


def candidates(msg: InboundMessage, owners: Mapping[tuple[str, str], int]) -> list[int]:
    """Every ticket ``choose`` may pick, given who owns the references: read their headers together."""
    wanted = threads.lookup_refs(msg.references)
    found = [next((owners[("msg", r)] for r in reversed(wanted) if ("msg", r) in owners), None),
             next((owners[("msg", m)] for m in msg.message_ids if ("msg", m) in owners), None),
             msg.ticket_hint, owners.get(("thread", msg.thread_key)) if msg.thread_key else None]
    return list(dict.fromkeys(n for n in found if n is not None))


def choose(msg: InboundMessage, customer_id: str, owners: Mapping[tuple[str, str], int],
           headers: Mapping[int, TicketItem], now: datetime) -> Match:
    """The ticket to append to, from references already read (``owners``) and the headers of the
    ``candidates`` (``headers``): by message references (or a reply that named this message first),
    quoted number (same customer only), conversation key, then (if asked) the customer's recent active
    ticket with the same subject (one Query)."""
    owners = dict(owners)
    wanted = threads.lookup_refs(msg.references)
    number = next((owners[("msg", r)] for r in reversed(wanted) if ("msg", r) in owners), None)
    if number is None:
        number = next((owners[("msg", m)] for m in msg.message_ids if ("msg", m) in owners), None)
    found = headers.get(number) if number is not None else None
    if found is None and msg.ticket_hint is not None:
        hinted = headers.get(msg.ticket_hint)
        if hinted is not None and (hinted.customer_id == customer_id or msg.internal):
            found = hinted
    if found is None and msg.thread_key and ("thread", msg.thread_key) in owners:
        found = headers.get(owners[("thread", msg.thread_key)])
    if found is not None:
        return Match(found if accepts(found, msg, now) else None, owners)
    if msg.match_subject and msg.subject:
        wanted_subject = threads.normalize_subject(msg.subject)
        for t in threads.recent_tickets(customer_id, now - timedelta(days=SUBJECT_MATCH_DAYS)):
            if t.status in _ACTIVE and threads.normalize_subject(t.subject) == wanted_subject:
                return Match(t, owners)
    return Match(None, owners)


def find(msg: InboundMessage, customer_id: str, now: datetime) -> Match:
    """The ticket to append to (see ``choose``): one batch read for every reference, one for the headers."""
    owners = threads.owners(claims(msg))
    numbers = candidates(msg, owners)
    headers = {n: t for n in numbers if (t := _get(n)) is not None}
    return choose(msg, customer_id, owners, headers, now)


def find_ticket(msg: InboundMessage, customer_id: str, now: datetime) -> TicketItem | None:
    """The ticket to append to, or None (see ``find``)."""
    return find(msg, customer_id, now).ticket
