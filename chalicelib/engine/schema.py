"""The vocabulary of rules: the evaluated document's schema and the rule-file meta-schema.

``DOCUMENT_SCHEMA`` (JSON Schema draft 2020-12) describes every field a
condition can look at. Sections:

- ``ticket``: the ticket as it is now (after the event was applied).
- ``customer``: the ticket's customer.
- ``event``: what just happened (trigger evaluation only; absent for SLA
  selection and automations).
- ``changes``: only the fields this event changed, each ``{"from", "to"}``;
  an unchanged field is *absent*.
- ``clock``: SLA clocks at evaluation time. A metric without a target has
  state ``"none"`` and null numbers.

Conditions are plain JSON Schema, so two classic traps apply: ``properties``
matches vacuously when the property is absent (write ``"required"`` when the
field must be there, e.g. ``changes.status``), and number or string keywords
(``minimum``, ``pattern``, ...) accept values of other types, including null.
The checker (``chalicelib.engine.fields``) rejects a number/string keyword on a
field that may be null unless the same schema object says ``"type"``, so
``{"maximum": 60}`` on ``clock.business_minutes_to_next_breach`` must be
written ``{"type": "number", "maximum": 60}`` and never matches null.

``RULE_SCHEMA`` is the meta-schema of one rule file (``python -m
chalicelib.engine --schema`` prints it, e.g. for an editor).
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.actions import ACTION_SCHEMA

DRAFT = "https://json-schema.org/draft/2020-12/schema"
KINDS = ("sla", "trigger", "automation")
STATUSES = ("new", "open", "pending", "on-hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
EVENT_TYPES = (
    "ticket_created", "customer_message", "agent_reply", "status_changed",
    "priority_changed", "assignee_changed", "escalated", "delivery_failed",
)
METRICS = ("first_reply", "next_reply", "resolution")
CLOCKS = (*METRICS, "escalation", "pending")
METRIC_STATES = ("none", "active", "paused", "achieved", "breached_active", "breached")
RULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
MAX_MINUTES = 525_600  # one year


def _obj(props: dict[str, Any], required: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(props)
    return out


_STR = {"type": "string"}
_STR_NULL = {"type": ["string", "null"]}
_TAGS = {"type": "array", "items": {"type": "string"}}
_NUM_NULL = {"type": ["number", "null"]}


def _metric_clock() -> dict[str, Any]:
    return _obj({
        "state": {"enum": list(METRIC_STATES)},
        "business_minutes_remaining": _NUM_NULL,
        "due_at": {"type": ["string", "null"], "format": "date-time"},
    })


def _change(values: dict[str, Any]) -> dict[str, Any]:
    nullable = {"anyOf": [values, {"type": "null"}]}
    return _obj({"from": nullable, "to": nullable})


DOCUMENT_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "Rule condition document",
    **_obj({
        "ticket": _obj({
            "id": {"type": "integer"},
            "subject": _STR,
            "status": {"enum": list(STATUSES)},
            "priority": {"enum": list(PRIORITIES)},
            "channel": _STR,
            "category": _STR_NULL,
            "tags": _TAGS,
            "assignee": _STR_NULL,
            "department": _STR_NULL,
            "customer_id": _STR,
            "created_at": {"type": "string", "format": "date-time"},
            "escalated": {"type": "boolean"},
            "escalation_department": _STR_NULL,
        }),
        "customer": _obj({
            "id": _STR,
            "name": _STR_NULL,
            "email": _STR_NULL,
            "vip": {"type": "boolean"},
            "tags": _TAGS,
            "open_tickets": {"type": "integer", "minimum": 0},
        }),
        "event": _obj({
            "type": {"enum": list(EVENT_TYPES)},
            "body_text": _STR,
            "subject": _STR,
            "channel": _STR,
            "actor": _STR,
        }),
        "changes": _obj({
            "status": _change({"enum": list(STATUSES)}),
            "priority": _change({"enum": list(PRIORITIES)}),
            "assignee": _change(_STR),
            "department": _change(_STR),
        }, required=False),
        "clock": _obj({
            "minutes_since_created": {"type": "number"},
            "business_minutes_to_next_breach": _NUM_NULL,
            "next_breach_metric": {"enum": [*METRICS, None]},
            **{metric: _metric_clock() for metric in METRICS},
        }),
    }),
}
DOCUMENT_SCHEMA["required"] = ["ticket", "customer", "changes", "clock"]  # event: triggers only

_COMMON: dict[str, Any] = {
    "$schema": _STR,
    "$comment": _STR,
    "id": {"type": "string", "description": "optional; must equal the file name without .json"},
    "kind": {"enum": list(KINDS)},
    "description": _STR,
    "enabled": {"type": "boolean", "default": True},
    "position": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
    "condition": {"type": ["object", "boolean"], "description": "JSON Schema 2020-12 over the document"},
}
_ACTIONS = {"type": "array", "minItems": 1, "items": ACTION_SCHEMA}
_METRIC_TARGETS = {
    "type": "object",
    "minProperties": 1,
    "properties": {m: {"type": "integer", "minimum": 1, "maximum": MAX_MINUTES} for m in METRICS},
    "additionalProperties": False,
}
_KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "sla": {
        "required": ["kind", "position", "calendar", "targets"],
        "properties": {
            **_COMMON,
            "calendar": {"type": "string", "pattern": RULE_ID_PATTERN},
            "targets": {
                "type": "object",
                "minProperties": 1,
                "properties": {p: _METRIC_TARGETS for p in PRIORITIES},
                "additionalProperties": False,
            },
            "pause_statuses": {
                "type": "array", "items": {"enum": list(STATUSES)}, "uniqueItems": True, "default": ["pending"],
            },
        },
    },
    "trigger": {
        "required": ["kind", "position", "on", "actions"],
        "properties": {
            **_COMMON,
            "on": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(EVENT_TYPES)}},
            "actions": _ACTIONS,
        },
    },
    "automation": {
        "required": ["kind", "at", "actions"],
        "properties": {
            **_COMMON,
            "at": {
                "type": "object",
                "required": ["clock"],
                "properties": {
                    "clock": {"enum": list(CLOCKS)},
                    "offset_minutes": {"type": "integer", "minimum": -MAX_MINUTES, "maximum": MAX_MINUTES,
                                       "description": "wall-clock minutes from the deadline (negative: before)"},
                    "offset_business_minutes": {
                        "type": "integer", "minimum": -MAX_MINUTES, "maximum": MAX_MINUTES,
                        "description": "business minutes from the deadline on the clock's calendar (negative: "
                                       "before); not together with offset_minutes"},
                },
                "additionalProperties": False,
                "not": {"required": ["offset_minutes", "offset_business_minutes"]},
                "if": {"properties": {"clock": {"const": "pending"}}, "required": ["clock"]},
                "then": {"properties": {"offset_minutes": {"minimum": 0}, "offset_business_minutes": {"minimum": 0}}},
            },
            "actions": _ACTIONS,
        },
    },
}

RULE_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "$id": "https://helpdesk.invalid/schemas/rule.schema.json",
    "title": "Help-desk rule (one per file; file name = rule id)",
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": _COMMON["kind"]},
    "allOf": [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {**schema, "additionalProperties": False},
        }
        for kind, schema in _KIND_SCHEMAS.items()
    ],
}
