"""Find tickets: by number, by customer identity (email, LINE, Slack, phone), by tag, by subject words.

Query syntax (one box in the console): ``#12`` or ``12`` (a ticket number),
``hanako@example.jp`` (an email identity), ``line:U123`` / ``slack:U123`` /
``chat:visitor-9`` / ``phone:+81...`` (other identities), ``tag:vip`` (a tag),
anything else: words of the subject (every word must occur). A plugin
implementing ``helpdesk_search_tickets`` may answer non-number queries first.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.store import customers, search, tickets
from chalicelib.store.models import TicketItem

IDENTITY_KINDS = ("email", "line", "slack", "chat", "phone")
_NUMBER = re.compile(r"^#?(\d{1,12})$")
_KIND = re.compile(r"^(email|line|slack|chat|phone|tag):(.+)$", re.IGNORECASE)


def parse(query: str) -> tuple[str, str]:
    """``(kind, value)``: kind is ``number``, an identity kind, ``tag`` or ``text``."""
    q = query.strip()
    if m := _NUMBER.match(q):
        return "number", m.group(1)
    if m := _KIND.match(q):
        return m.group(1).lower(), m.group(2).strip()
    if "@" in q and " " not in q:
        return "email", q
    return "text", q


def _by_identity(kind: str, value: str, limit: int) -> list[TicketItem]:
    customer_id = customers.find_customer_id(kind, value)
    customer = customers.resolve_customer(customer_id) if customer_id else None
    return customers.customer_tickets(customer.customer_id, limit=limit) if customer else []


def find(query: str, filters: dict[str, Any], limit: int) -> tuple[str, list[TicketItem]]:
    """The search kind and the matching tickets, newest first, filtered by ``filters`` afterwards."""
    kind, value = parse(query)
    if kind == "number":
        try:
            return kind, [tickets.get_ticket(int(value))]
        except Exception:  # noqa: BLE001 - NotFound: no ticket of that number is an empty result
            return kind, []
    hit = get_plugin_manager().hook.helpdesk_search_tickets(query=query, filters=dict(filters), limit=limit)
    if hit is not None:
        return "plugin", search.load([int(n) for n in hit][:limit])
    if kind in IDENTITY_KINDS:
        return kind, _by_identity(kind, value, limit)
    terms = [search.tag_term(value)] if kind == "tag" else [f"w:{t}" for t in search.tokens(value)]
    if not terms:
        return kind, []
    return kind, search.load(search.match_terms(terms)[:limit])


def tag_page(tag: str, limit: int) -> list[TicketItem]:
    """Tickets carrying ``tag``, newest first (one Query and one BatchGetItem)."""
    return search.load(search.postings(search.tag_term(tag), limit))
