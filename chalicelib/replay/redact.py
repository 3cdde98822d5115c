"""Stable pseudonyms for an exported history: names, addresses and texts. PURE.

HMAC-SHA256 with a key: the same value and key give the same pseudonym in
every ticket and every export (so "same customer" rules still match), and
nobody without the key can test a guess. Kept as they are: times, types,
statuses, priorities, tags, rule ids, agent ids, channel names, and the
domain of well-known mail providers and Japanese mobile carriers (rules match
on them). Texts (subjects, bodies, notes) become ``[text <hash>, N chars]``,
so rules matching words in them see no words: say so when you share results.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.engine.actions import NOTIFY_ROLES
from chalicelib.mail.carriers import CARRIER_DOMAINS
from chalicelib.replay.history import Event, TicketHistory

PUBLIC_DOMAINS = frozenset({"gmail.com", "yahoo.co.jp", "outlook.com", "outlook.jp", "hotmail.com", "icloud.com",
                            "me.com", "yahoo.com", "nifty.com", "example.com"}) | frozenset(CARRIER_DOMAINS)
NAME_KEYS = frozenset({"name", "agent_name", "customer_name", "by"})
TEXT_KEYS = frozenset({"body_text", "body", "subject", "note", "summary", "detail", "reason", "decline_reason",
                       "diagnostic", "html"})
ADDRESS_KEYS = frozenset({"email", "customer_email", "recipient", "reply_to", "phone"})
FIELD_EVENTS = frozenset({"status_changed", "priority_changed", "assigned", "tags_changed"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class Redactor:
    """Pseudonymise values with one key."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _h(self, kind: str, value: str, n: int = 10) -> str:
        return hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:n]

    def email(self, value: str) -> str:
        """``user-<hash>@<domain>``, the domain kept only if public (else ``<hash>.invalid``)."""
        local, _, domain = value.partition("@")
        domain = domain.lower()
        kept = domain if domain in PUBLIC_DOMAINS or any(domain.endswith("." + d) for d in PUBLIC_DOMAINS) \
            else f"d-{self._h('domain', domain, 8)}.invalid"
        return f"user-{self._h('email', value.lower())}@{kept}"

    def name(self, value: str) -> str:
        """``name-<hash>``."""
        return f"name-{self._h('name', value)}" if value else value

    def text(self, value: str) -> str:
        """``[text <hash>, N chars]``."""
        return f"[text {self._h('text', value, 8)}, {len(value)} chars]" if value else value

    def value(self, key: str, value: Any) -> Any:
        """Redact one field by its name, recursing into objects and lists."""
        if isinstance(value, Mapping):
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, v) for v in value]
        if not isinstance(value, str) or value in NOTIFY_ROLES:
            return value
        if key in TEXT_KEYS:
            return self.text(value)
        if key in NAME_KEYS:
            return self.name(value)
        if key in ADDRESS_KEYS or _EMAIL.fullmatch(value):
            return self.email(value) if "@" in value else f"addr-{self._h('addr', value)}"
        return _EMAIL.sub(lambda m: self.email(m.group(0)), value)

    def actor(self, actor: str) -> str:
        """``customer:email:x@y`` -> ``customer:email:<pseudonym>`` (agent and system actors kept)."""
        parts = actor.split(":", 2)
        if len(parts) == 3 and parts[0] in ("customer", "contact"):
            ident = self.email(parts[2]) if "@" in parts[2] else f"id-{self._h('id', parts[2])}"
            return f"{parts[0]}:{parts[1]}:{ident}"
        return actor

    def ticket(self, history: TicketHistory) -> TicketHistory:
        """The ticket with every personal value replaced."""
        header = {k: self.value(k, v) if k not in ("number", "created_at", "channel", "category") else v
                  for k, v in history.ticket.items()}
        header["customer_id"] = f"cust-{self._h('customer', str(history.ticket.get('customer_id')))}"
        customer = {k: self.value(k, v) for k, v in history.customer.items() if k not in ("vip", "tags", "id")}
        customer.update(id=header["customer_id"], vip=bool(history.customer.get("vip")),
                        tags=list(history.customer.get("tags") or []))
        events = tuple(Event(id=e.id, type=e.type, at=e.at, actor=self.actor(e.actor),
                             data=dict(e.data) if e.type in FIELD_EVENTS else
                             {k: self.value(k, v) for k, v in e.data.items() if k not in ("raw_ref", "metadata")})
                       for e in history.events)
        return TicketHistory(ticket=header, customer=customer, events=events)
