"""Threading references: which ticket a reply, a conversation or a quoted number belongs to."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from chalicelib.store import keys
from chalicelib.store.models import RefItem, TicketItem

REF_SK = "REF"
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


def find_by_refs(values: tuple[str, ...]) -> int | None:
    """The ticket of the newest known message id among ``values`` (References lists oldest first)."""
    for value in reversed(values):
        found = find_ref("msg", value)
        if found is not None:
            return found
    return None


def recent_tickets(customer_id: str, since: datetime, limit: int = 20) -> list[TicketItem]:
    """The customer's tickets created since ``since``, newest first."""
    return list(TicketItem.by_customer.query(customer_id, TicketItem.created_at >= since,
                                             scan_index_forward=False, limit=limit))
