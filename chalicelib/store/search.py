"""Ticket search from an inverted index kept in the service table (no scan, no extra service).

Postings are items ``pk=SRCH#<term>``, ``sk=<created_at>#<number>`` (``SearchItem``):

- ``tag:<tag>`` for every tag of a ticket, added and removed in the same
  transaction as the header change that changed the tags (``stage``);
- ``w:<token>`` for the subject: lower-cased NFKC words of letters/digits and,
  for Japanese (and other CJK) runs, overlapping character bigrams. Written
  when the ticket is created (a subject never changes).

A customer identity needs no postings: the identity item names the customer and
the customer tickets index lists their tickets. Every search therefore costs a
fixed number of requests whatever the number of tickets: one Query per term (at
most ``MAX_QUERY_TERMS``) or the identity lookup, plus one BatchGetItem per 100
tickets shown. Beyond what one table serves well (ranked full-text, typo
tolerance, millions of tickets) a team plugs a search engine in through the
``helpdesk_search_tickets`` hook.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.store.models import SearchItem, TicketItem

PREFIX = "SRCH#"
MAX_SUBJECT_TERMS = 30
MAX_QUERY_TERMS = 6
POSTINGS_PER_TERM = 500
_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u30fc々〆]+")


def tokens(text: str) -> list[str]:
    """Search tokens of a text: words of letters/digits and CJK bigrams (a lone CJK character as itself)."""
    norm = unicodedata.normalize("NFKC", text or "").lower()
    found: list[str] = [w for w in _WORD.findall(norm) if len(w) >= 2 or w.isdigit()]
    for run in _CJK.findall(norm):
        found += [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
    seen: dict[str, None] = {}
    for tok in found:
        seen.setdefault(tok[:100], None)
    return list(seen)


def tag_term(tag: str) -> str:
    """The index term of a tag."""
    return f"tag:{tag}"


def _sk(created_at: datetime, number: int) -> str:
    return f"{created_at.isoformat()}#{number:012d}"


def _posting(term: str, ticket: TicketItem) -> SearchItem:
    number = int(ticket.number)
    return SearchItem(f"{PREFIX}{term}", _sk(ticket.created_at, number), ticket_id=number)


def subject_terms(subject: str) -> list[str]:
    """Index terms of a subject (capped at ``MAX_SUBJECT_TERMS``)."""
    return [f"w:{t}" for t in tokens(subject)][:MAX_SUBJECT_TERMS]


def stage(tw: Any, ticket: TicketItem, *, created: bool = False) -> None:
    """Add to a transaction the postings a header write changes (new subject, added/removed tags)."""
    before = set() if created else set(getattr(ticket, "indexed_tags", frozenset()))
    after = set(ticket.tags or ())
    terms = subject_terms(ticket.subject) if created else []
    for tag in sorted(after - before):
        terms.append(tag_term(tag))
    for term in terms:
        tw.save(_posting(term, ticket))
    for tag in sorted(before - after):
        tw.delete(_posting(tag_term(tag), ticket))


def write_new(ticket: TicketItem) -> None:
    """The postings of a new ticket written after its commit, in batch requests: for a creation whose
    transaction would otherwise hold more than DynamoDB's 100 items (a crash in between leaves the
    ticket unfindable by subject words until its next change; it is never lost)."""
    terms = subject_terms(ticket.subject) + [tag_term(t) for t in sorted(ticket.tags or ())]
    with SearchItem.batch_write() as batch:
        for term in dict.fromkeys(terms):
            batch.save(_posting(term, ticket))
    committed(ticket)


def staged_count(ticket: TicketItem, *, created: bool = False) -> int:
    """How many items ``stage`` would add to a transaction."""
    before = set() if created else set(getattr(ticket, "indexed_tags", frozenset()))
    after = set(ticket.tags or ())
    return (len(subject_terms(ticket.subject)) if created else 0) + len(after - before) + len(before - after)


def committed(ticket: TicketItem) -> None:
    """After a successful commit the stored tags are the ticket's tags."""
    ticket.indexed_tags = frozenset(ticket.tags or ())


def postings(term: str, limit: int = POSTINGS_PER_TERM) -> list[int]:
    """Ticket numbers under a term, newest first (one Query)."""
    items = SearchItem.query(f"{PREFIX}{term}", scan_index_forward=False, limit=limit)
    return [int(i.ticket_id) for i in items]


def match_terms(terms: Iterable[str], limit: int = POSTINGS_PER_TERM) -> list[int]:
    """Tickets carrying every term, newest first: one Query per term (at most ``MAX_QUERY_TERMS``)."""
    result: list[int] | None = None
    for term in list(terms)[:MAX_QUERY_TERMS]:
        found = postings(term, limit)
        result = found if result is None else [n for n in result if n in set(found)]
        if not result:
            return []
    return result or []


def load(numbers: list[int]) -> list[TicketItem]:
    """Headers of these tickets in the given order (BatchGetItem, 100 keys per request)."""
    from chalicelib.store import keys

    wanted = [(keys.ticket_pk(n), keys.TICKET_SK) for n in numbers]
    found = {int(t.number): t for t in TicketItem.batch_get(wanted)} if wanted else {}
    return [found[n] for n in numbers if n in found]


def remove_subject(ticket: TicketItem, tw: Any) -> None:
    """Delete a ticket's subject postings (GDPR erasure rewrites the subject)."""
    for term in subject_terms(ticket.subject):
        tw.delete(_posting(term, ticket))
