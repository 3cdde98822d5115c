"""Threading references: which ticket a reply, a conversation or a quoted number belongs to."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain import InboundMessage
from chalicelib.store import keys
from chalicelib.store.models import RefItem, TicketItem

REF_SK = "REF"
MAX_LOOKUP_REFS = 20
"""A mail lists its whole thread in References (10,000 were seen); only the newest this many are read."""
REF_RETENTION = timedelta(days=730)
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|vs|antw|返信|転送)\s*(\[\d+\])?\s*[:：]\s*|\[#\d+\]\s*)+", re.I)


def normalize_subject(subject: str) -> str:
    """Subject without reply/forward prefixes and ticket tokens, NFKC, case-folded, spaces squeezed."""
    text = unicodedata.normalize("NFKC", subject or "")
    text = _PREFIX.sub("", text)
    text = re.sub(r"\[#\d+\]", "", text)
    return " ".join(text.split()).casefold()


def ref_item(kind: str, value: str, ticket_id: int, now: datetime) -> RefItem:
    """A reference item to write with the ticket change that creates it."""
    return RefItem(keys.ref_pk(kind, value), REF_SK, ticket_id=ticket_id, expires_at=now + REF_RETENTION)


def find_ref(kind: str, value: str) -> int | None:
    """The ticket a reference points to, or None."""
    try:
        return int(RefItem.get(keys.ref_pk(kind, value), REF_SK).ticket_id)
    except RefItem.DoesNotExist:
        return None


def owners(refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The ticket each known ``(kind, value)`` reference points to, in one batch read (unknown ones left out)."""
    wanted = {keys.ref_pk(kind, value): (kind, value) for kind, value in refs}
    found: dict[tuple[str, str], int] = {}
    for item in RefItem.batch_get([(pk, REF_SK) for pk in wanted], consistent_read=True):
        found[wanted[item.pk]] = int(item.ticket_id)
    return found


def lookup_refs(values: tuple[str, ...]) -> tuple[str, ...]:
    """The references worth looking up: the newest ``MAX_LOOKUP_REFS`` (bounded work per delivery)."""
    return tuple(dict.fromkeys(values))[-MAX_LOOKUP_REFS:]


def find_by_refs(values: tuple[str, ...]) -> int | None:
    """The ticket of the newest known message id among ``values`` (References lists oldest first).
    Only the newest ``MAX_LOOKUP_REFS`` are read, in one request, however long the list is."""
    wanted = lookup_refs(values)
    known = owners(("msg", v) for v in wanted)
    return next((known[("msg", v)] for v in reversed(wanted) if ("msg", v) in known), None)


def recent_tickets(customer_id: str, since: datetime, limit: int = 20) -> list[TicketItem]:
    """The customer's tickets created since ``since``, newest first."""
    return list(TicketItem.by_customer.query(customer_id, TicketItem.created_at >= since,
                                             scan_index_forward=False, limit=limit))


def own_refs(msg: InboundMessage) -> list[tuple[str, str]]:
    """The references a message brings itself: its ids and its conversation."""
    refs = [("msg", mid) for mid in msg.message_ids]
    if msg.thread_key:
        refs.append(("thread", msg.thread_key))
    return list(dict.fromkeys(refs))


def message_refs(msg: InboundMessage, number: int, now: datetime) -> list[RefItem]:
    """REF items pointing the message's own references at ticket ``number``."""
    return [ref_item(kind, value, number, now) for kind, value in own_refs(msg)]


def still_owned_by(owner: int | None, now: datetime) -> Any:
    """Condition of a claimed reference: still free (or expired), or still pointing at ``owner``."""
    free = RefItem.pk.does_not_exist() | (RefItem.expires_at < now)
    return free if owner is None else free | (RefItem.ticket_id == owner)


def fit_claims(claimed: list[tuple[str, str]], msg: InboundMessage, room: int) -> list[tuple[str, str]]:
    """The claims that fit in ``room`` transaction items: the conversation and the message's own ids
    always (they must point at the new ticket), then the ids it answers, newest first."""
    if len(claimed) <= room:
        return claimed
    own = set(own_refs(msg))
    kept = [c for c in claimed if c in own]
    answered = [c for c in claimed if c not in own]
    return kept + answered[::-1][:max(0, room - len(kept))]
