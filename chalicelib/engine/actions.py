"""Action definitions: what a trigger or automation may do, and how each is checked.

Each action is a JSON object with a ``"type"``; every type allows exactly the
fields below (unknown fields are errors):

- ``set_priority {priority}``: low / normal / high / urgent.
- ``set_status {status}``: open / pending / on-hold / solved / closed.
- ``add_tags {tags}``, ``remove_tags {tags}``: non-empty list of tags.
- ``assign {agent?, department?}``: at least one of the two.
- ``return_to_queue {}``: unassign, clear the escalation, back to support.
- ``notify {target, to, template?, subject?, body?}``: ``target`` names a
  notification plugin (checked against installed plugins elsewhere, see
  ``RuleSet.notify_targets``); ``to`` is a role (``NOTIFY_ROLES``) or
  ``{"address": "..."}``; needs ``template`` or ``body``.
- ``auto_reply {template}``: reply to the customer with a template.
- ``add_note {body}``: an internal note on the ticket.

The engine only describes actions; services apply them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOTIFY_ROLES = ("assignee", "escalation_contact", "department_manager", "customer", "manager")
_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 20_000}
_TEMPLATE = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"}
_TAG_LIST = {
    "type": "array",
    "minItems": 1,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": r"^\S+$", "maxLength": 64},
}

ACTION_FIELDS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    # type: (properties besides "type", required properties)
    "set_priority": ({"priority": {"enum": ["low", "normal", "high", "urgent"]}}, ("priority",)),
    "set_status": ({"status": {"enum": ["open", "pending", "on-hold", "solved", "closed"]}}, ("status",)),
    "add_tags": ({"tags": _TAG_LIST}, ("tags",)),
    "remove_tags": ({"tags": _TAG_LIST}, ("tags",)),
    "assign": ({"agent": _NAME, "department": _NAME}, ()),
    "return_to_queue": ({}, ()),
    "notify": (
        {
            "target": _NAME,
            "to": {
                "oneOf": [
                    {"enum": list(NOTIFY_ROLES)},
                    {
                        "type": "object",
                        "required": ["address"],
                        "properties": {"address": _NAME},
                        "additionalProperties": False,
                    },
                ]
            },
            "template": _TEMPLATE,
            "subject": {"type": "string", "maxLength": 500},
            "body": _TEXT,
        },
        ("target", "to"),
    ),
    "auto_reply": ({"template": _TEMPLATE}, ("template",)),
    "add_note": ({"body": _TEXT}, ("body",)),
}
ACTION_TYPES = tuple(ACTION_FIELDS)

ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": list(ACTION_TYPES)}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {
                "properties": {"type": {"const": name}, **props},
                "required": ["type", *required],
                "additionalProperties": False,
            },
        }
        for name, (props, required) in ACTION_FIELDS.items()
    ],
}
"""JSON Schema of one action (used inside the rule meta-schema)."""


def action_problems(action: Any) -> list[tuple[str, str]]:
    """Checks the schema cannot say well: ``(relative pointer, message)`` pairs.

    Run after the schema passed; an action that is not an object yields nothing.
    """
    if not isinstance(action, Mapping):
        return []
    kind = action.get("type")
    if kind == "assign" and "agent" not in action and "department" not in action:
        return [("", "assign needs 'agent' or 'department' (or both)")]
    if kind == "notify" and "template" not in action and "body" not in action:
        return [("", "notify needs 'template' or 'body'")]
    return []
