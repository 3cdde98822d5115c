"""Field changes that do not overwrite someone else's: ``If-Match`` with the ticket's ETag.

``GET /tickets/{id}`` and ``PATCH /tickets/{id}`` answer with ``ETag: "<version>-<ms>"`` (the
header's version and the time of its last change). A ``PATCH`` that sends it back in
``If-Match`` is applied only if nobody else changed a field it sets since then; otherwise it is
refused with 412 Precondition Failed (RFC 9110 for a failed ``If-Match``) naming who changed
which field from what to what, and when (the timeline's change events after the ETag's time).

The ETag moves with every write of the header; a move that touched none of the fields sent
(a claim, the sweep, a customer message, someone else's change of another field) does not
refuse the change: it overwrites nothing anyone else set. ``If-Match: *`` only requires the
ticket to exist. Without ``If-Match`` a change applies as before (last writer wins).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ulid import ULID

from chalicelib.errors import PreconditionFailed
from chalicelib.store import agents, keys
from chalicelib.store.models import EventItem, TicketItem

_ETAG = re.compile(r'(?:W/)?"(\d{1,12})-(\d{1,16})"')
CLOCK_SKEW_MS = 60_000
FIELD_EVENTS = ("status_changed", "priority_changed", "assigned", "tags_changed")
"""Timeline events of a field change (``data``: ``field``, ``from``, ``to``)."""


def _ms(ticket: TicketItem) -> int:
    return int(ticket.updated_at.timestamp() * 1000) if ticket.updated_at else 0


def etag(ticket: TicketItem) -> str:
    """The ticket's strong ETag: ``"<version>-<ms of its last change>"``."""
    return f'"{int(ticket.version or 0)}-{_ms(ticket)}"'


def parse(header: str) -> list[tuple[int, int]] | None:
    """The (version, ms) pairs an ``If-Match`` names; None for ``*``. A weak ``W/`` prefix (which a
    compressing proxy may add) is accepted; anything that is not one of our ETags names nothing."""
    if header.strip() == "*":
        return None
    return [(int(v), int(ms)) for v, ms in _ETAG.findall(header)]


def _events_since(number: int, ms: int) -> list[EventItem]:
    """Timeline events whose ULID time is after ``ms`` (one Query, only on a stale ETag)."""
    lower = keys.event_sk(str(ULID.from_timestamp(ms + 1))[:10] + "0" * 16)
    return list(EventItem.query(keys.ticket_pk(number), EventItem.sk.between(lower, keys.EVENT_PREFIX + "~"),
                                consistent_read=True))


def _who(actor: str, names: dict[str, str | None]) -> str | None:
    if not actor.startswith("agent:"):
        return None
    agent_id = actor.split(":", 1)[1]
    if agent_id not in names:
        agent = agents.get_agent(agent_id)
        names[agent_id] = agent.name if agent is not None else None
    return names[agent_id]


def changes_since(number: int, ms: int, fields: Iterable[str], actor: str) -> list[dict[str, Any]]:
    """Changes of ``fields`` by anyone but ``actor`` after ``ms``, oldest first."""
    wanted, names = set(fields), {}
    out = []
    for e in _events_since(number, ms):
        data = e.data or {}
        if e.type in FIELD_EVENTS and data.get("field") in wanted and e.actor != actor:
            out.append({"field": data["field"], "from": data.get("from"), "to": data.get("to"), "by": e.actor,
                        "by_name": _who(e.actor, names), "at": e.at.isoformat().replace("+00:00", "Z"),
                        "event_id": e.event_id})
    return out


def _sentence(change: dict[str, Any]) -> str:
    who = change["by_name"] or change["by"]
    return f"{who} changed {change['field']} from {change['from']!r} to {change['to']!r} at {change['at']}"


def ensure_current(ticket: TicketItem, if_match: str, fields: Iterable[str], actor: str) -> None:
    """Raise ``PreconditionFailed`` unless ``if_match`` names the ticket's current ETag or nobody
    but ``actor`` changed one of ``fields`` since the version it names."""
    named = parse(if_match)
    if named is None or etag(ticket) in {f'"{v}-{ms}"' for v, ms in named}:
        return
    current = {"etag": etag(ticket), "version": int(ticket.version or 0)}
    latest = _ms(ticket) + CLOCK_SKEW_MS  # writers' clocks differ a little; later than that was never issued
    named = [(v, ms) for v, ms in named if v <= current["version"] and ms <= latest]
    if not named:
        raise PreconditionFailed("If-Match names no version of this ticket: send the ETag GET /tickets/{id} "
                                 "returned", {**current, "changes": []})
    number = int(ticket.number)
    changes = changes_since(number, min(ms for _v, ms in named), fields, actor)
    if changes:
        raise PreconditionFailed("; ".join(_sentence(c) for c in changes)
                                 + ". Your change was not applied: reload the ticket and make it again.",
                                 {**current, "changes": changes})
