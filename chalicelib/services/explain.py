"""What the rules would do to one ticket at one time: for rule authors (``cli explain``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.engine import due_automations, evaluate_triggers, fire_time
from chalicelib.engine.rules import thaw
from chalicelib.services.document import document
from chalicelib.services.evaluate import business_shift, clock_calendar, clock_deadlines, metrics_for
from chalicelib.services.runtime import Runtime
from chalicelib.sla.clocks import iso_z, to_dict
from chalicelib.sla.display import local_time, zone_for

_TIME_FIELDS = ("created_at", "first_replied_at", "last_agent_reply_at", "solved_at", "awaiting_reply_since")


def fields_from_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Ticket fields from a ticket JSON (the API's shape, or a hand-written one)."""
    fields: dict[str, Any] = {"status": "new", "priority": "normal", "channel": "form", "tags": [],
                              "customer_id": str((doc.get("customer") or {}).get("id", "c-1"))}
    fields.update({k: v for k, v in doc.items() if k not in ("customer", "event", "sla", "timeline")})
    fields["number"] = int(str(doc.get("id", doc.get("number", 1))).lstrip("#"))
    for name in _TIME_FIELDS:
        if isinstance(fields.get(name), str):
            fields[name] = datetime.fromisoformat(fields[name].replace("Z", "+00:00"))
    if "sla" in doc and isinstance(doc["sla"], Mapping) and "status_log" in doc["sla"]:
        fields["sla"] = {"status_log": doc["sla"]["status_log"]}
    return fields


def explain(fields: Mapping[str, Any], customer: Mapping[str, Any], runtime: Runtime, at: datetime,
            event: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Which SLA applies, each deadline, which triggers match the event and which automations
    are due (or when they will be), with the actions each would take. Times are UTC (``Z``) with
    a ``*_local`` twin in the policy calendar's zone, named (``2026-01-13 15:00 JST``)."""
    base = document(fields, customer, {}, at)
    policy_id, metrics = metrics_for(fields, runtime, base, at)
    doc = document(fields, customer, metrics, at, event=event)
    fired = set(fields.get("fired_keys") or ())
    deadlines = clock_deadlines(fields, metrics)
    shift = business_shift(fields, runtime, policy_id)
    zone = zone_for(None, getattr(clock_calendar(fields, runtime, policy_id, "first_reply"), "timezone", None))
    report: dict[str, Any] = {
        "at": iso_z(at),
        "at_local": local_time(at, zone),
        "timezone": zone,
        "sla_policy": policy_id,
        "deadlines": {name: {**to_dict(m), "due_local": local_time(m.due_at, zone)} for name, m in metrics.items()},
        "triggers": [],
        "automations_due": [
            {"rule": f.rule_id, "why": f.why, "actions": thaw(f.actions), "fire_at": iso_z(f.fire_at),
             "fire_at_local": local_time(f.fire_at, zone)}
            for f in due_automations(runtime.rules, doc, deadlines, fired, at, shift)
        ],
        "automations_scheduled": [],
    }
    if event:
        report["triggers"] = [{"rule": f.rule_id, "why": f.why, "actions": thaw(f.actions)}
                              for f in evaluate_triggers(runtime.rules, doc, event["type"])]
    for rule in runtime.rules.automations:
        when = fire_time(rule, deadlines, shift)
        if when and when[0] > at:
            report["automations_scheduled"].append({"rule": rule.id, "fire_at": iso_z(when[0]),
                                                    "fire_at_local": local_time(when[0], zone),
                                                    "condition_now": rule.matches(doc)})
    report["automations_scheduled"].sort(key=lambda r: r["fire_at"])
    return report
