"""Build the document conditions see, with every known field present.

``build_document(ticket=..., customer=..., event=..., changes=..., clock=...)``
takes plain mappings (missing fields get defaults: ``""``, ``None``, ``[]``,
``False``, ``0``), keeps only the fields of ``DOCUMENT_SCHEMA``, turns
datetimes into ISO 8601 strings and enums into their values, and returns plain
dicts and lists (jsonschema-rs only reads ``dict``/``list``). Build it once per
evaluation and share it between all rules.

``changes`` maps a field to ``(from, to)`` or ``{"from", "to"}``; only changed
fields belong there. ``clock`` takes ``minutes_since_created`` and, per metric,
a mapping or an object with ``state``, ``business_minutes_remaining`` and
``due_at`` (e.g. ``chalicelib.sla.clocks.MetricState``); a metric that is
absent gets state ``"none"``. ``business_minutes_to_next_breach`` and
``next_breach_metric`` are derived from the running metrics when not given.

``document_errors(doc)`` validates a document against ``DOCUMENT_SCHEMA``
(for tests and debugging; not on the hot path).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.engine.schema import DOCUMENT_SCHEMA, METRICS
from chalicelib.errors import schema_error

_TICKET_DEFAULTS: dict[str, Any] = {
    "subject": "", "status": "new", "priority": "normal", "channel": "", "category": None, "tags": [],
    "assignee": None, "department": None, "customer_id": "", "created_at": "", "escalated": False,
    "escalation_department": None,
}
_CUSTOMER_DEFAULTS: dict[str, Any] = {"name": None, "email": None, "vip": False, "tags": [], "open_tickets": 0}
_EVENT_DEFAULTS: dict[str, Any] = {"body_text": "", "subject": "", "channel": "", "actor": ""}
_RUNNING = ("active", "breached_active")
_VALIDATOR = Draft202012Validator(DOCUMENT_SCHEMA)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:  # the common case first (exact types: a StrEnum is not one)
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def _section(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, default in defaults.items():
        out[key] = _plain(values.get(key, default))
    return out


def _metric(value: Any) -> dict[str, Any]:
    if value is None:
        return {"state": "none", "business_minutes_remaining": None, "due_at": None}
    get = value.get if isinstance(value, Mapping) else (lambda k, d=None: getattr(value, k, d))
    return {
        "state": _plain(get("state", "none")),
        "business_minutes_remaining": get("business_minutes_remaining"),
        "due_at": _plain(get("due_at")),
    }


def build_document(
    *,
    ticket: Mapping[str, Any],
    customer: Mapping[str, Any] | None = None,
    event: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    clock: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The condition document; ``event`` only for trigger evaluation."""
    doc_ticket = {"id": ticket["id"], **_section(ticket, _TICKET_DEFAULTS)}
    customer = customer or {}
    doc_customer = {"id": _plain(customer.get("id", doc_ticket["customer_id"])),
                    **_section(customer, _CUSTOMER_DEFAULTS)}
    doc_changes = {}
    for key, change in (changes or {}).items():
        before, after = (change["from"], change["to"]) if isinstance(change, Mapping) else change
        doc_changes[key] = {"from": _plain(before), "to": _plain(after)}
    clock = clock or {}
    metrics = {m: _metric(clock.get(m)) for m in METRICS}
    running = [(v["business_minutes_remaining"], m) for m, v in metrics.items()
               if v["state"] in _RUNNING and v["business_minutes_remaining"] is not None]
    nearest = min(running, default=(None, None))
    doc = {
        "ticket": doc_ticket,
        "customer": doc_customer,
        "changes": doc_changes,
        "clock": {
            "minutes_since_created": clock.get("minutes_since_created", 0),
            "business_minutes_to_next_breach": clock.get("business_minutes_to_next_breach", nearest[0]),
            "next_breach_metric": clock.get("next_breach_metric", nearest[1]),
            **metrics,
        },
    }
    if event is not None:
        doc["event"] = {"type": _plain(event["type"]), **_section(event, {**_EVENT_DEFAULTS,
                                                                            "channel": doc_ticket["channel"]})}
    return doc


def document_errors(doc: Any) -> list[dict[str, Any]]:
    """Problems of a document against ``DOCUMENT_SCHEMA`` ({field, pointer, message}); [] when valid."""
    errors = [schema_error([str(p) for p in e.absolute_path], e.message) for e in _VALIDATOR.iter_errors(doc)]
    return sorted(errors, key=lambda e: e["pointer"])
