"""Message ids that thread replies: ours, the one SES assigns, the ticket token and routing address.

SES replaces the Message-ID of every message it sends with
``<{SES message id}@{region}.amazonses.com>`` (``email.amazonses.com`` in
us-east-1; AWS documents the replacement, not the domain, so
``SES_MESSAGE_ID_DOMAIN`` overrides it). Replies quote that id, so every
form is recorded as a threading reference, and an inbound reference at any
``*.amazonses.com`` domain is also looked up by its bare SES id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.domain import OutboundMessage, SendResult

TOKEN = re.compile(r"\[#(\d{1,12})\]")
_PLUS = re.compile(r"^[^@+]+\+(\d{1,12})@", re.I)
_SES = re.compile(r"^<([^<>@]+)@(?:[a-z0-9-]+\.)*amazonses\.com>$", re.I)


def ses_domains(region: str, override: str | None = None) -> list[str]:
    """Domains SES uses in the Message-ID of mail sent from ``region``."""
    if override:
        return [override]
    return ["email.amazonses.com", f"{region}.amazonses.com"] if region == "us-east-1" else [
        f"{region}.amazonses.com"]


def ses_message_ids(ses_id: str, region: str, override: str | None = None) -> list[str]:
    """The ``Message-ID`` values a recipient may see for an SES message id."""
    return [f"<{ses_id}@{d}>" for d in ses_domains(region, override)]


def expand_references(refs: Iterable[str]) -> tuple[str, ...]:
    """References plus the bare SES id of every ``<id@...amazonses.com>`` among them, order kept."""
    out: list[str] = []
    for ref in refs:
        out.append(ref)
        match = _SES.match(ref)
        if match:
            out.append(match.group(1))
    return tuple(dict.fromkeys(out))


def subject_token(subject: str) -> int | None:
    """The ticket number in a ``[#1234]`` token, or None."""
    match = TOKEN.search(subject or "")
    return int(match.group(1)) if match else None


def routed_ticket(addresses: Iterable[str], reply_domain: str | None) -> int | None:
    """The ticket number of a ``support+1234@<reply domain>`` routing address among the recipients."""
    for address in addresses:
        match = _PLUS.match(address or "")
        if match and (not reply_domain or address.lower().endswith("@" + reply_domain.lower())):
            return int(match.group(1))
    return None


def with_token(subject: str, ticket_id: int) -> str:
    """The subject carrying the ticket token ``[#1234]`` exactly once."""
    if subject_token(subject) == ticket_id:
        return subject
    return f"[#{ticket_id}] {subject}".strip()


def outbound_refs(send_result: SendResult, message: OutboundMessage | None = None) -> list[str]:
    """Every id a reply to this sent message may quote: the provider id, our Message-ID and SES's forms.

    The email channel reports them in ``send_result.metadata["message_ids"]``;
    other channels have only ``provider_message_id``.
    """
    meta: Mapping[str, Any] = send_result.metadata or {}
    ids = [send_result.provider_message_id, *(meta.get("message_ids") or [])]
    return list(dict.fromkeys(i for i in ids if i))
