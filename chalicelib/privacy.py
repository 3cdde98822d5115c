"""What a GDPR erasure keeps of a customer's tickets and what it removes. PURE.

Removed: everything that says who the customer is or what they wrote: names,
addresses, phone numbers, chat user ids, subjects and bodies of messages (in and
out), agent notes on their tickets, escalation notes, raw payloads, message ids
and threading keys, notification recipients and texts. Kept: ticket numbers,
channels, categories, statuses, priorities, tags, assignees and departments,
every timestamp, SLA and KPI figures, rule ids, agent actions and who did them
(agents are staff, not the data subject). Any other text still naming the
customer (an error message quoting their address, say) has the name replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

ERASED = "[erased]"
ERASED_SUBJECT = "(erased)"
ERASED_ACTOR = "customer:erased"
PERSONAL_KEYS = frozenset({
    "subject", "body", "body_text", "text", "html", "note", "summary", "detail", "reason", "diagnostic",
    "from", "to", "cc", "bcc", "reply_to", "recipient", "recipients", "email", "name", "phone", "address",
    "person", "customer", "customer_name", "customer_email", "user_id", "notes", "fields", "metadata", "headers",
    "attachments", "quoted", "signature", "notice", "checks", "problems", "raw_ref", "message_ids",
    "references", "in_reply_to", "thread_key", "dedupe_key", "provider_message_id", "reply_target", "preview",
})
"""Event data keys whose values are removed wherever they appear (nested too)."""
ESCALATION_TEXT_KEYS = frozenset({"note", "end_note", "reason", "decline_reason", "answer", "summary"})


def needles(values: Iterable[str | None]) -> list[str]:
    """The strings that identify the customer in free text: each value, the name without spaces and each
    name part of two characters or more (longest first, so a full name is replaced before its parts)."""
    found: set[str] = set()
    for value in values:
        text = (value or "").strip()
        if len(text) < 2:
            continue
        found.add(text)
        squeezed = re.sub(r"\s+", "", text)
        if len(squeezed) >= 2:
            found.add(squeezed)
        if "@" not in text:
            found.update(p for p in re.split(r"[\s\u3000]+", text) if len(p) >= 2)
    return sorted(found, key=lambda s: (-len(s), s))


def replace_needles(text: str, wanted: Iterable[str]) -> str:
    """``text`` with every occurrence of a needle (case-insensitive) replaced by ``ERASED``."""
    for needle in wanted:
        if needle.lower() in text.lower():
            text = re.sub(re.escape(needle), ERASED, text, flags=re.IGNORECASE)
    return text


FIELD_EVENTS = frozenset({"status_changed", "priority_changed", "assigned", "tags_changed", "department_changed",
                          "customer_updated"})
"""Field changes keep their ``from``/``to`` (statuses, agents, departments: the KPIs are made of them)."""


def _scrub(value: Any, wanted: list[str], drop: frozenset[str] = PERSONAL_KEYS) -> Any:
    if isinstance(value, str):
        return replace_needles(value, wanted)
    if isinstance(value, Mapping):
        return {k: _scrub(v, wanted, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list | tuple):
        return [_scrub(v, wanted, drop) for v in value]
    return value


def scrub_event_data(data: Mapping[str, Any] | None, wanted: list[str], event_type: str = "") -> dict[str, Any]:
    """An event's data without personal data, marked ``erased`` (idempotent)."""
    data = dict(data or {})
    drop = PERSONAL_KEYS - {"from", "to"} if event_type in FIELD_EVENTS or "field" in data else PERSONAL_KEYS
    clean = _scrub(data, wanted, drop)
    clean["erased"] = True
    return clean


def scrub_actor(actor: str, wanted: list[str]) -> str:
    """The customer as an actor (``customer:email:...``) becomes ``customer:erased``; staff stay."""
    if actor.startswith("customer:"):
        return ERASED_ACTOR
    return replace_needles(actor, wanted)


def scrub_escalation(escalation: Mapping[str, Any] | None, wanted: list[str]) -> dict[str, Any] | None:
    """The ticket's escalation without its notes (state, department, contact and deadlines kept: the
    sweep still runs its clock)."""
    if not escalation:
        return None
    return {k: _scrub(v, wanted) for k, v in escalation.items() if k not in ESCALATION_TEXT_KEYS}


def contains_any(value: Any, wanted: Iterable[str]) -> bool:
    """Does any string inside ``value`` still contain a needle? (used by checks and tests)."""
    lowered = [w.lower() for w in wanted]
    if isinstance(value, str):
        return any(w in value.lower() for w in lowered)
    if isinstance(value, Mapping):
        return any(contains_any(k, lowered) or contains_any(v, lowered) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(contains_any(v, lowered) for v in value)
    return False


def references(data: Mapping[str, Any] | None, channel: str | None = None) -> set[tuple[str, str]]:
    """The threading references (``("msg", id)``, ``("thread", key)``) an event recorded, so the erasure can
    drop the ones pointing at the ticket (a later message then starts a new ticket)."""
    data = data or {}
    refs: set[tuple[str, str]] = {("msg", str(m)) for m in data.get("message_ids") or [] if m}
    meta = data.get("metadata") or {}
    email = meta.get("email") or {}
    for mid in [email.get("message_id"), *(email.get("in_reply_to") or []), *(email.get("references") or [])]:
        if mid:
            refs.add(("msg", str(mid)))
    if data.get("thread_key"):
        refs.add(("thread", str(data["thread_key"])))
    if (channel or data.get("channel")) == "line" and meta.get("to"):  # events written before thread_key was kept
        refs.add(("thread", f"line:{meta['to']}"))
    if data.get("provider_message_id"):
        refs.add(("msg", str(data["provider_message_id"])))
    return refs


def stored_objects(data: Any) -> set[str]:
    """S3 keys an event names (``raw_ref``, and any ``key``/``s3_key`` of stored attachments), nested too."""
    found: set[str] = set()
    if isinstance(data, Mapping):
        for k, v in data.items():
            if k in ("raw_ref", "s3_key", "storage_key", "object_key") and isinstance(v, str) and v:
                found.add(v)
            else:
                found |= stored_objects(v)
    elif isinstance(data, list | tuple):
        for v in data:
            found |= stored_objects(v)
    return found
