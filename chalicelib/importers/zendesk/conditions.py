"""Zendesk conditions and actions -> our JSON Schema conditions and actions. PURE.

Each mapper returns the mapped piece or a reason string (why it cannot be
carried over). Conditions map onto the condition document (``ticket``,
``event``); group and agent ids become ``zendesk-group-<id>`` and
``zendesk-agent-<id>`` (rename them to your departments and agents).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

STATUSES = ("new", "open", "pending", "on-hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
VIA = {0: "form", 4: "email", 29: "chat", 5: "api", 55: "line", 72: "slack"}
CHANGE_EVENTS = ("customer_message", "agent_reply", "status_changed", "priority_changed", "assignee_changed")
PLACEHOLDERS = {
    "ticket.id": "ticket.id", "ticket.title": "ticket.subject", "ticket.url": "ticket.url",
    "ticket.link": "ticket.url", "ticket.status": "ticket.status", "ticket.priority": "ticket.priority",
    "ticket.requester.name": "customer.name", "ticket.requester.first_name": "customer.name",
    "ticket.requester.email": "customer.email", "ticket.assignee.name": "agent.name",
    "ticket.assignee.first_name": "agent.name",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def _status(value: Any) -> str | None:
    v = str(value).lower()
    v = "on-hold" if v == "hold" else v
    return v if v in STATUSES else None


def _ordered(field: str, op: str, value: str, order: tuple[str, ...]) -> dict[str, Any] | str:
    if value not in order:
        return f"unknown {field} {value!r}"
    i = order.index(value)
    picked = {"is": [value], "is_not": [v for v in order if v != value], "less_than": list(order[:i]),
              "greater_than": list(order[i + 1:])}.get(op)
    if picked is None:
        return f"operator {op!r} on {field} is not supported"
    return {"properties": {"ticket": {"properties": {field: {"enum": picked}}}}}


def _words(value: Any) -> list[str]:
    return [w for w in str(value or "").split() if w]


def _text(section: str, name: str, op: str, value: Any) -> dict[str, Any] | str:
    words = _words(value)
    if not words:
        return "no words given"
    if op in ("includes", "not_includes"):
        pattern = "(?i)(" + "|".join(re.escape(w) for w in words) + ")"
    elif op in ("is", "is_not"):
        pattern = "(?i)" + re.escape(" ".join(words))
    else:
        return f"operator {op!r} is not supported"
    match = {"properties": {section: {"properties": {name: {"type": "string", "pattern": pattern}}}}}
    if section == "event":
        match = {"required": ["event"], **match}
    return {"not": match} if op in ("not_includes", "is_not") else match


def _const(section: str, name: str, op: str, value: Any) -> dict[str, Any] | str:
    schema = {"properties": {section: {"required": [name], "properties": {name: {"const": value}}}}}
    if op == "is":
        return schema
    if op == "is_not":
        return {"not": schema}
    return f"operator {op!r} is not supported"


def condition(cond: Mapping[str, Any]) -> dict[str, Any] | str:
    """One Zendesk condition as a JSON Schema over the document, or why not."""
    field, op, value = str(cond.get("field")), str(cond.get("operator") or "is"), cond.get("value")
    if field == "status":
        return _ordered("status", op, _status(value) or str(value), STATUSES)
    if field == "priority":
        return _ordered("priority", op, str(value).lower(), PRIORITIES)
    if field == "current_tags":
        tags = _words(value)
        if op not in ("includes", "not_includes") or not tags:
            return f"operator {op!r} on tags is not supported"
        has = {"properties": {"ticket": {"properties": {"tags": {"contains": {"enum": tags}}}}}}
        return has if op == "includes" else {"not": has}
    if field == "subject_includes_word":
        return _text("ticket", "subject", op, value)
    if field == "comment_includes_word":
        return _text("event", "body_text", op, value)
    if field == "group_id":
        return _const("ticket", "department", op, f"zendesk-group-{value}" if value not in ("", None) else None)
    if field == "assignee_id":
        if value == "current_user":
            return "'current user' has no equivalent: rules run without a user"
        return _const("ticket", "assignee", op, f"zendesk-agent-{value}" if value not in ("", None) else None)
    if field in ("via_id", "current_via_id"):
        channel = VIA.get(int(value)) if str(value).isdigit() else None
        return _const("ticket", "channel", op, channel) if channel else f"no channel for via_id {value!r}"
    if field.startswith("custom_fields_") or field.startswith("requester.custom_fields"):
        return "custom ticket/user fields are not part of the condition document"
    reasons = {
        "organization_id": "organizations are not modelled; use customer tags",
        "requester_id": "a specific requester: use a customer condition",
        "type": "ticket type (question/incident/problem/task) is not modelled",
        "brand_id": "brands are not modelled", "ticket_form_id": "ticket forms are not modelled",
        "satisfaction_score": "satisfaction ratings are not modelled", "locale_id": "requester locale is not modelled",
        "recipient": "the receiving address is not in the condition document",
        "ticket_is_public": "private tickets are not modelled",
        "comment_is_public": "comment visibility is not modelled",
        "reopens": "reopen counts are not in the condition document", "replies": "reply counts are not in the "
        "condition document", "agent_stations": "agent stations are not modelled",
    }
    return reasons.get(field, f"condition field {field!r} has no equivalent")


def events_for(conditions: list[Mapping[str, Any]]) -> tuple[list[str], list[int]]:
    """Trigger events from ``update_type`` and ``role`` conditions; returns (events, indices consumed)."""
    created = changed = True
    role = None
    used = []
    for i, c in enumerate(conditions):
        if c.get("field") == "update_type":
            created, changed = (c.get("value") == "Create"), (c.get("value") == "Change")
            if c.get("operator") == "is_not":
                created, changed = not created, not changed
            used.append(i)
        elif c.get("field") == "role" and c.get("operator", "is") == "is":
            role = c.get("value")
            used.append(i)
    events = ["ticket_created"] if created else []
    if changed:
        events += {"end_user": ["customer_message"], "agent": ["agent_reply", "status_changed", "priority_changed",
                                                              "assignee_changed"]}.get(str(role), list(CHANGE_EVENTS))
    return events, used


def text_template(text: str) -> tuple[str, list[str]]:
    """Zendesk placeholders -> ours; returns the text and the placeholders that have no equivalent."""
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in PLACEHOLDERS:
            return "{{ " + PLACEHOLDERS[name] + " }}"
        missing.append(name)
        return ""

    return _PLACEHOLDER.sub(repl, text or ""), missing


def _notify(to: str, value: Any) -> dict[str, Any] | str:
    if not isinstance(value, list) or len(value) < 3:
        return "notification needs [recipient, subject, body]"
    subject, sub_missing = text_template(str(value[1]))
    body, body_missing = text_template(str(value[2]))
    action = {"type": "notify", "target": "email", "to": to, "subject": subject[:500],
              "body": body or "{{ ticket.url }}"}
    if sub_missing or body_missing:
        action["_missing"] = sorted(set(sub_missing + body_missing))
    return action


def action(act: Mapping[str, Any]) -> dict[str, Any] | str:
    """One Zendesk action as ours, or why not (``_approx`` / ``_missing`` carry notes for the report)."""
    field, value = str(act.get("field")), act.get("value")
    if field == "status":
        status = _status(value)
        return {"type": "set_status", "status": status} if status and status != "new" else \
            f"status {value!r} cannot be set by a rule"
    if field == "priority":
        return {"type": "set_priority", "priority": str(value).lower()} if str(value).lower() in PRIORITIES else \
            f"unknown priority {value!r}"
    if field in ("current_tags", "set_tags", "remove_tags"):
        tags = _words(value)
        if not tags:
            return "no tags given"
        out: dict[str, Any] = {"type": "remove_tags" if field == "remove_tags" else "add_tags", "tags": tags}
        if field == "set_tags":
            out["_approx"] = "set_tags replaces every tag; imported as add_tags (other tags stay)"
        return out
    if field == "group_id":
        return {"type": "assign", "department": f"zendesk-group-{value}"} if value not in ("", None) else \
            "unassigning the group has no equivalent"
    if field == "assignee_id":
        if value == "current_user" or value in ("", None):
            return "assigning to the current user / unassigning has no equivalent in a rule"
        return {"type": "assign", "agent": f"zendesk-agent-{value}"}
    if field == "notification_user":
        who = value[0] if isinstance(value, list) and value else None
        role = {"requester_id": "customer", "assignee_id": "assignee"}.get(str(who))
        return _notify(role, value) if role else f"notifying Zendesk user {who!r}: no address known here"
    if field == "notification_group":
        found = _notify("department_manager", value)
        if isinstance(found, dict):
            found["_approx"] = "a group notification goes to the department's manager, not every member"
        return found
    reasons = {
        "notification_target": "HTTP/URL targets: configure the notify_webhook plugin and add a notify action",
        "notification_webhook": "webhooks: configure the notify_webhook plugin and add a notify action",
        "comment_value": "public comments from rules: use an auto_reply with a template",
        "comment_value_html": "public comments from rules: use an auto_reply with a template",
        "comment_mode_is_public": "comment visibility is not modelled", "satisfaction_score": "satisfaction surveys "
        "are not modelled", "cc": "CCs are not modelled", "follower": "followers are not modelled",
        "type": "ticket type is not modelled", "ticket_form_id": "ticket forms are not modelled",
        "locale_id": "locale is not modelled", "brand_id": "brands are not modelled",
        "set_schedule": "the SLA calendar comes from the SLA policy, not a ticket field",
    }
    if field.startswith("custom_fields_"):
        return "custom ticket fields are not modelled"
    return reasons.get(field, f"action field {field!r} has no equivalent")
