"""Which existing ticket an inbound message belongs to, if any (see ``InboundMessage``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain import ACTIVE_STATUSES, InboundMessage, Status
from chalicelib.errors import NotFound
from chalicelib.store import threads, tickets
from chalicelib.store.models import TicketItem

SUBJECT_MATCH_DAYS = 30
_ACTIVE = {s.value for s in ACTIVE_STATUSES}


def accepts(ticket: TicketItem, msg: InboundMessage, now: datetime) -> bool:
    """Can the ticket take this message? Closed never; solved within the reopen window."""
    if ticket.status == Status.CLOSED.value:
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


def find_ticket(msg: InboundMessage, customer_id: str, now: datetime) -> TicketItem | None:
    """The ticket to append to: by message references, quoted number (same customer only),
    conversation key, then (if asked) the customer's recent active ticket with the same subject."""
    found = _get(threads.find_by_refs(msg.references)) if msg.references else None
    if found is None and msg.ticket_hint is not None:
        hinted = _get(msg.ticket_hint)
        if hinted is not None and (hinted.customer_id == customer_id or msg.internal):
            found = hinted
    if found is None and msg.thread_key:
        found = _get(threads.find_ref("thread", msg.thread_key))
    if found is not None:
        return found if accepts(found, msg, now) else None
    if msg.match_subject and msg.subject:
        wanted = threads.normalize_subject(msg.subject)
        for t in threads.recent_tickets(customer_id, now - timedelta(days=SUBJECT_MATCH_DAYS)):
            if t.status in _ACTIVE and threads.normalize_subject(t.subject) == wanted:
                return t
    return None
