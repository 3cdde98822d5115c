"""Turn the actions of fired rules into a plan: ticket updates, timeline events, effects.

Pure: works on a plain dict of ticket fields, so it is unit-tested without
AWS. Effects (notifications, auto-replies) leave the system; they are carried
out after the ticket change is committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.engine.rules import thaw

SUPPORT_DEPARTMENT = "support"
TRACKED = ("status", "priority", "assignee", "department")


@dataclass
class Plan:
    """What a set of firings does to one ticket."""

    fields: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] = field(default_factory=dict)

    def changes(self) -> dict[str, dict[str, Any]]:
        """``{field: {"from", "to"}}`` for tracked fields that changed."""
        out = {}
        for name in (*TRACKED, "tags"):
            before, after = self.original.get(name), self.fields.get(name)
            if before != after:
                out[name] = {"from": before, "to": after}
        return out


def new_plan(fields: Mapping[str, Any]) -> Plan:
    """A plan starting from the ticket's current fields (tags as a sorted list)."""
    current = {k: (sorted(v) if k == "tags" else v) for k, v in fields.items()}
    return Plan(fields=dict(current), original=dict(current))


def apply_actions(plan: Plan, rule_id: str, actions: Iterable[Mapping[str, Any]], why: str = "") -> Plan:
    """Apply one rule's actions in order to ``plan`` and record that the rule fired."""
    f = plan.fields
    done: list[dict[str, Any]] = []
    for action in actions:
        kind = action["type"]
        if kind == "set_priority":
            f["priority"] = action["priority"]
        elif kind == "set_status":
            f["status"] = action["status"]
        elif kind == "add_tags":
            f["tags"] = sorted(set(f.get("tags") or []) | set(action["tags"]))
        elif kind == "remove_tags":
            f["tags"] = sorted(set(f.get("tags") or []) - set(action["tags"]))
        elif kind == "assign":
            if "agent" in action:
                f["assignee"] = action["agent"]
            if "department" in action:
                f["department"] = action["department"]
        elif kind == "return_to_queue":
            f["assignee"] = None
            f["department"] = action.get("department", SUPPORT_DEPARTMENT)
            if f.get("escalation"):
                f["escalation"] = {**f["escalation"], "state": "returned"}
            if f.get("status") in ("pending", "on-hold", "new"):
                f["status"] = "open"
        elif kind == "add_note":
            plan.events.append({"type": "note", "data": {"body": action["body"], "rule_id": rule_id}})
        elif kind in ("notify", "auto_reply"):
            plan.effects.append({"rule_id": rule_id, **thaw(action)})
        else:  # the meta-schema rejects unknown actions; never silently skip one
            raise ValueError(f"rule {rule_id}: unknown action type {kind!r}")
        done.append(thaw(action))
    plan.events.append({"type": "rule_fired", "data": {"rule_id": rule_id, "why": why, "actions": done}})
    return plan
