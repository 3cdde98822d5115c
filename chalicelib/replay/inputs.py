"""Tell what people did from what the rules did, in one recorded timeline. PURE.

A change is committed as one group of events with the same time and actor:
the action's own events (``message_out``, ``escalated``, ...), then the field
changes, then the rules' events (``rule_fired``, ``sla_breached``, notes).
Inputs are what the replay feeds back in, as recorded:

- the first event: the ticket arrived;
- ``message_in`` / ``internal_message``: a customer or staff message;
- a group by anyone but the system (``agent:...``, a contact) or a delivery
  failure: an agent reply (``message_out`` by an agent), an escalation, a
  decline, a note, and the field changes the rules did not make.

A field change counts as the rules' when a ``rule_fired`` event of the same
group has an action on that field (``set_priority``, ``set_status``,
``assign``, ``return_to_queue``, tag actions: only the tags they name). Sweep
groups and ``system`` groups are the rules' entirely. The one ambiguity: an
agent and a rule setting the same field in the same commit count as the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.replay.history import Event, TicketHistory

MESSAGE_TYPES = ("message_in", "internal_message")
FIELD_EVENTS = ("status_changed", "priority_changed", "assigned")
ACTION_FIELDS = {"set_priority": ("priority",), "set_status": ("status",),
                 "return_to_queue": ("assignee", "department", "status")}


@dataclass(frozen=True)
class Input:
    """One thing the world did to the ticket, at ``at``, as recorded.

    ``kind``: ``create``, ``message`` or ``change``. For a change: ``fields``
    set (status, priority, assignee, department), tags added/removed, the
    recorded action events (``events``: message_out, escalated, note, ...),
    ``reply_status`` when it was an agent reply, ``escalation`` (the recorded
    ``escalated`` data), ``declined``/``answered`` for the escalation, ``cancelled``
    (the note) when an agent ended it.
    """

    at: datetime
    kind: str
    actor: str
    event: Event | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    tags_added: frozenset[str] = frozenset()
    tags_removed: frozenset[str] = frozenset()
    events: tuple[Event, ...] = ()
    reply_status: str | None = None
    escalation: Mapping[str, Any] | None = None
    declined: bool = False
    answered: bool = False
    cancelled: str | None = None
    delivery_failed: Mapping[str, Any] | None = None


def groups(events: Iterable[Event]) -> Iterator[list[Event]]:
    """Consecutive events with the same time and actor (one commit each)."""
    current: list[Event] = []
    for e in events:
        if current and (e.at != current[0].at or e.actor != current[0].actor):
            yield current
            current = []
        current.append(e)
    if current:
        yield current


def _rule_touched(group: list[Event]) -> tuple[set[str], set[str], set[str]]:
    """Fields, tags added and tags removed by the rules that fired in this group."""
    fields: set[str] = set()
    added: set[str] = set()
    removed: set[str] = set()
    for e in group:
        if e.type != "rule_fired":
            continue
        for action in e.data.get("actions") or []:
            kind = (action or {}).get("type")
            fields.update(ACTION_FIELDS.get(kind, ()))
            if kind == "assign":
                fields.update(f for f in ("agent", "department") if f in action)
                if "agent" in action:
                    fields.add("assignee")
            elif kind == "add_tags":
                added.update(action.get("tags") or [])
            elif kind == "remove_tags":
                removed.update(action.get("tags") or [])
    return fields, added, removed


def _is_world(group: list[Event]) -> bool:
    actor = group[0].actor
    return not actor.startswith("system") or any(e.type == "delivery_failed" for e in group)


def _change(group: list[Event], status_before: str) -> Input | None:
    rule_fields, rule_added, rule_removed = _rule_touched(group)
    fields: dict[str, Any] = {}
    added: set[str] = set()
    removed: set[str] = set()
    own: list[Event] = []
    reply = escalation = delivery = None
    declined = answered = False
    cancelled: str | None = None
    for e in group:
        d = e.data
        name = d.get("field")
        if e.type in FIELD_EVENTS and name in ("status", "priority", "assignee", "department"):
            if name not in rule_fields:
                fields[name] = d.get("to")
        elif e.type == "tags_changed":
            before, after = set(d.get("from") or []), set(d.get("to") or [])
            added |= (after - before) - rule_added
            removed |= (before - after) - rule_removed
        elif e.type == "message_out" and d.get("agent") and not d.get("auto_reply"):
            reply = e
            own.append(e)
        elif e.type == "escalated":
            escalation = dict(d)
            own.append(e)
        elif e.type == "escalation_declined":
            declined = True
            own.append(e)
        elif e.type == "escalation_ended" and d.get("reason") == "cancelled":
            cancelled = str(d.get("note") or "")
        elif e.type == "escalation_answered":
            answered = True
            own.append(e)
        elif e.type == "delivery_failed":
            delivery = dict(d)
            own.append(e)
        elif e.type == "note" and not d.get("rule_id"):
            own.append(e)
    if not (fields or added or removed or own or cancelled is not None):
        return None
    reply_status = None
    if reply is not None:
        reply_status = fields.pop("status", status_before)
    return Input(at=group[0].at, kind="change", actor=group[0].actor, fields=fields,
                 tags_added=frozenset(added), tags_removed=frozenset(removed), events=tuple(own),
                 reply_status=reply_status, escalation=escalation, declined=declined, answered=answered,
                 cancelled=cancelled, delivery_failed=delivery)


def extract_inputs(history: TicketHistory) -> list[Input]:
    """The ticket's inputs in time order (the first is its arrival)."""
    events = history.events
    out = [Input(at=history.created_at, kind="create", actor=events[0].actor, event=events[0])]
    status = "new"
    for group in groups(events[1:]):
        if group[0].type in MESSAGE_TYPES and not group[0].actor.startswith("system"):
            out += [Input(at=e.at, kind="message", actor=e.actor, event=e) for e in group if e.type in MESSAGE_TYPES]
        elif _is_world(group):
            found = _change(group, status)
            if found is not None:
                out.append(found)
        for e in group:
            if e.type == "status_changed" and e.data.get("field", "status") == "status":
                status = str(e.data.get("to"))
    return out


def recorded_outputs(history: TicketHistory) -> list[tuple[str, str, datetime]]:
    """What the rules did in the recorded history: ``(kind, key, at)`` for each rule firing
    (``rule``, rule id) and each recorded breach (``breach``, metric instance)."""
    out = []
    for e in history.events:
        if e.type == "rule_fired":
            out.append(("rule", str(e.data.get("rule_id")), e.at))
        elif e.type == "sla_breached":
            out.append(("breach", str(e.data.get("instance")), e.at))
    return out
