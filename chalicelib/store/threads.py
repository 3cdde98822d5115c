"""Threading references: which ticket a reply, a conversation or a quoted number belongs to."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

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
