"""Evaluation: SLA selection, triggers with why, automations once per deadline instance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chalicelib.engine import (
    build_document,
    dedupe_key,
    document_errors,
    due_automations,
    evaluate_triggers,
    load_rules,
    next_automation_time,
    select_sla,
)
from chalicelib.engine.conditions import compile_condition, explain
from chalicelib.engine.rules import thaw

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SLA_BASE = {"kind": "sla", "calendar": "jp-office", "targets": {"normal": {"first_reply": 120}}}


def write_rules(directory: Path, rules: dict[str, dict[str, Any]]) -> Path:
    for name, rule in rules.items():
        (directory / f"{name}.json").write_text(json.dumps(rule, ensure_ascii=False), encoding="utf-8")
    return directory


def doc(event: str | None = None, **ticket: Any) -> dict[str, Any]:
    customer = {"vip": ticket.pop("vip", False), "id": "c1"}
    body = ticket.pop("body", "")
    return build_document(
        ticket={"id": 42, "subject": "注文について", "status": "open", "priority": "normal", **ticket},
        customer=customer,
        event=None if event is None else {"type": event, "body_text": body},
    )


def test_sla_first_match_by_position_and_default(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, {
        "sla-default": {**SLA_BASE, "position": 100},
        "sla-vip": {**SLA_BASE, "position": 10,
                    "condition": {"properties": {"customer": {"properties": {"vip": {"const": True}}}}}},
        "sla-billing": {**SLA_BASE, "position": 20,
                        "condition": {"properties": {"ticket": {"properties": {"category": {"const": "billing"}}}}}},
        "sla-off": {**SLA_BASE, "position": 1, "enabled": False},
    }), calendars=["jp-office"])
    assert [r.id for r in rules.slas] == ["sla-vip", "sla-billing", "sla-default"]
    assert [r.id for r in rules.disabled] == ["sla-off"]
    assert rules.select_sla(doc(vip=True, category="billing")).id == "sla-vip"
    assert rules.select_sla(doc(category="billing")).id == "sla-billing"
    assert select_sla(rules, doc()).id == "sla-default"
    assert rules.select_sla(doc()).target("normal", "first_reply") == 120
    assert rules.select_sla(doc()).target("urgent", "first_reply") is None
    assert rules.select_sla(doc()).pause_statuses == ("pending",)


def test_no_default_sla_means_none(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, {
        "sla-vip": {**SLA_BASE, "position": 10,
                    "condition": {"properties": {"customer": {"properties": {"vip": {"const": True}}}}}},
    }), calendars=["jp-office"])
    assert rules.select_sla(doc()) is None


def test_shipped_triggers_match_with_why() -> None:
    rules = load_rules(ROOT / "rules")
    created = doc("ticket_created", subject="返金について", vip=True)
    firings = evaluate_triggers(rules, created)
    ids = [f.rule_id for f in firings]
    assert ids == ["vip-priority", "complaint-keywords-priority", "auto-reply-ticket-created"]
    complaint = firings[1]
    assert complaint.kind == "trigger"
    assert thaw(complaint.actions) == [{"type": "set_priority", "priority": "high"},
                                 {"type": "add_tags", "tags": ["complaint"]}]
    assert 'ticket.subject contains "返金"' in complaint.why
    assert complaint.matched == ("/condition/anyOf/0",)
    assert firings[2].why == "no condition (always matches)"

    message = doc("customer_message", body="使ったら肌荒れしました", priority="urgent")
    firings = evaluate_triggers(rules, message)
    assert [f.rule_id for f in firings] == ["complaint-keywords-tag"]
    assert firings[0].matched == ("/condition/anyOf/1",)
    assert "肌荒れ" in firings[0].why

    assert evaluate_triggers(rules, doc("agent_reply", subject="返金")) == []
    assert evaluate_triggers(rules, doc("customer_message", subject="Coupon was not applied")) != []
    assert evaluate_triggers(rules, doc("customer_message", subject="Do you have a coupon?")) == []


def test_triggers_for_event_order_and_disabled(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, {
        "b": {"kind": "trigger", "position": 2, "on": ["ticket_created", "customer_message"],
              "actions": [{"type": "add_tags", "tags": ["b"]}]},
        "a": {"kind": "trigger", "position": 1, "on": ["customer_message"],
              "actions": [{"type": "add_tags", "tags": ["a"]}]},
        "off": {"kind": "trigger", "position": 0, "on": ["customer_message"], "enabled": False,
                "actions": [{"type": "add_tags", "tags": ["off"]}]},
    }))
    assert [r.id for r in rules.triggers_for("customer_message")] == ["a", "b"]
    assert [r.id for r in rules.triggers_for("ticket_created")] == ["b"]
    assert rules.triggers_for("escalated") == ()
    assert [f.rule_id for f in evaluate_triggers(rules, doc("customer_message"))] == ["a", "b"]
    assert rules.get("off") is not None and not rules.get("off").enabled
    # Firing actions are the rule's, read-only (no copy per firing): nobody can change the rule through them.
    firing = evaluate_triggers(rules, doc("customer_message"))[0]
    with pytest.raises((TypeError, AttributeError)):
        firing.actions[0]["tags"].append("mutated")
    with pytest.raises(TypeError):
        firing.actions[0]["tags"] = ["mutated"]
    assert list(rules.get("a").actions[0]["tags"]) == ["a"]


def _automations(tmp_path: Path) -> Any:
    return load_rules(write_rules(tmp_path, {
        "warn": {"kind": "automation", "position": 1, "at": {"clock": "first_reply", "offset_minutes": -60},
                 "condition": {"properties": {"ticket": {"properties": {"assignee": {"type": "string"}}}}},
                 "actions": [{"type": "notify", "target": "email", "to": "assignee", "template": "sla-warning"}]},
        "breach": {"kind": "automation", "position": 2, "at": {"clock": "first_reply"},
                   "actions": [{"type": "add_tags", "tags": ["sla-breached"]}]},
        "escalation": {"kind": "automation", "position": 3, "at": {"clock": "escalation", "offset_minutes": 30},
                       "actions": [{"type": "return_to_queue"}]},
        "off": {"kind": "automation", "enabled": False, "at": {"clock": "first_reply"},
                "actions": [{"type": "return_to_queue"}]},
    }))


def test_automations_fire_once_per_instance(tmp_path: Path) -> None:
    rules = _automations(tmp_path)
    d = doc(assignee="sato")
    due = T0 + timedelta(hours=2)
    deadlines = {"first_reply": (due, "first_reply:1")}

    assert due_automations(rules, d, deadlines, set(), T0) == []
    assert next_automation_time(rules, d, deadlines, set(), T0) == due - timedelta(minutes=60)

    [warn] = due_automations(rules, d, deadlines, set(), due - timedelta(minutes=60))
    assert (warn.rule_id, warn.kind, warn.instance) == ("warn", "automation", "first_reply:1")
    assert warn.dedupe_key == "warn#42#first_reply:1" == dedupe_key("warn", 42, "first_reply:1")
    assert warn.fire_at == due - timedelta(minutes=60)
    assert warn.actions[0]["to"] == "assignee"
    assert warn.why.startswith("first_reply 60 min before deadline")
    assert 'ticket.assignee is "sato"' in warn.why
    fired = {warn.dedupe_key}

    assert due_automations(rules, d, deadlines, fired, due - timedelta(minutes=1)) == []
    assert next_automation_time(rules, d, deadlines, fired, due - timedelta(minutes=1)) == due
    later = due + timedelta(minutes=5)
    assert [f.rule_id for f in due_automations(rules, d, deadlines, fired, later)] == ["breach"]
    fired |= {f.dedupe_key for f in due_automations(rules, d, deadlines, fired, later)}
    assert due_automations(rules, d, deadlines, fired, later) == []
    assert next_automation_time(rules, d, deadlines, fired, later) is None

    # A new instance of the same clock fires again.
    again = {"first_reply": (later + timedelta(hours=3), "first_reply:2")}
    [warn2] = due_automations(rules, d, again, fired, later + timedelta(hours=2, minutes=30))
    assert warn2.dedupe_key == "warn#42#first_reply:2"
    # Never swept before the deadline: the warning is no longer live, only the breach fires.
    firings = due_automations(rules, d, again, fired, later + timedelta(hours=4))
    assert [f.rule_id for f in firings] == ["breach"]


def test_a_warning_whose_time_passed_before_its_deadline_was_known_fires_at_once(tmp_path: Path) -> None:
    rules = _automations(tmp_path)
    d = doc(assignee="sato")
    deadlines = {"first_reply": (T0 + timedelta(minutes=30), "first_reply:1")}  # 30-min target, 60-min warning
    [warn] = due_automations(rules, d, deadlines, set(), T0)
    assert warn.rule_id == "warn" and warn.fire_at == T0 - timedelta(minutes=30)
    assert due_automations(rules, d, deadlines, set(), T0 + timedelta(minutes=30)) != []  # the breach rule
    assert "warn" not in {f.rule_id for f in due_automations(rules, d, deadlines, set(), T0 + timedelta(minutes=30))}


def test_offset_business_minutes_uses_the_clock_calendar(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, {
        "warn": {"kind": "automation", "at": {"clock": "first_reply", "offset_business_minutes": -60},
                 "actions": [{"type": "add_tags", "tags": ["w"]}]}}))
    deadline = datetime(2026, 1, 14, 0, 45, tzinfo=timezone.utc)  # Wed 09:45 JST
    seen = []

    def shift(clock: str, at: datetime, minutes: int) -> datetime:
        seen.append((clock, at, minutes))
        return at - timedelta(hours=15)  # what a 09:30-18:30 calendar says: Tue 17:45
    deadlines = {"first_reply": (deadline, "i")}
    early = datetime(2026, 1, 13, tzinfo=timezone.utc)
    assert next_automation_time(rules, doc(), deadlines, set(), early, shift) == deadline - timedelta(hours=15)
    assert seen == [("first_reply", deadline, -60)]
    with pytest.raises(ValueError, match="business calendar"):
        next_automation_time(rules, doc(), deadlines, set(), early)


def test_automation_condition_and_clocks(tmp_path: Path) -> None:
    rules = _automations(tmp_path)
    unassigned = doc()
    due = T0 + timedelta(hours=2)
    deadlines = {"first_reply": (due, "i1"), "escalation": (T0, "esc:1"), "resolution": (None, "r")}
    # Condition false at the time: skipped, not fired (so it is not reported as fired either).
    assert [f.rule_id for f in due_automations(rules, unassigned, deadlines, set(), due - timedelta(minutes=30))] == [
        "escalation"]
    # next_automation_time ignores conditions (they are checked when due) and only looks ahead of now.
    assert next_automation_time(rules, unassigned, deadlines, set(), T0) == T0 + timedelta(minutes=30)
    assert next_automation_time(rules, unassigned, {}, set(), T0) is None
    assert due_automations(rules, unassigned, {"first_reply": (None, "i")}, set(), due) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        due_automations(rules, unassigned, deadlines, set(), datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_automation_time(rules, unassigned, {"first_reply": (datetime(2026, 3, 2), "i")}, set(), T0)
    assert "off" not in {r.id for r in rules.automations}


def test_shipped_escalation_automation() -> None:
    rules = load_rules(ROOT / "rules")
    escalated = doc(escalated=True, escalation_department="warehouse")
    deadlines = {"escalation": (T0, "escalation:abc")}

    def wall(_clock: str, at: datetime, minutes: int) -> datetime:
        return at + timedelta(minutes=minutes)
    [firing] = due_automations(rules, escalated, deadlines, set(), T0, wall)
    assert firing.rule_id == "return-unanswered-escalation"
    assert [a["type"] for a in firing.actions] == ["return_to_queue", "notify", "add_note"]
    assert due_automations(rules, doc(), deadlines, set(), T0, wall) == []  # no longer escalated
    [reminder] = due_automations(rules, escalated, deadlines, set(), T0 - timedelta(minutes=59), wall)
    assert reminder.rule_id == "remind-escalation-contact-before-deadline"


@dataclass
class FakeMetric:
    state: str
    business_minutes_remaining: float | None
    due_at: datetime | None


def test_build_document_defaults_and_clock() -> None:
    d = build_document(
        ticket={"id": 7, "status": "open", "extra": "ignored", "tags": ("a",), "created_at": T0},
        event={"type": "ticket_created"},
        changes={"status": ("new", "open")},
        clock={"minutes_since_created": 5, "first_reply": FakeMetric("active", 45.0, T0),
               "resolution": {"state": "active", "business_minutes_remaining": 900, "due_at": None}},
    )
    assert document_errors(d) == []
    assert "extra" not in d["ticket"] and d["ticket"]["tags"] == ["a"]
    assert d["ticket"]["created_at"] == T0.isoformat()
    assert d["customer"] == {"id": "", "name": None, "email": None, "vip": False, "tags": [], "open_tickets": 0}
    assert d["changes"] == {"status": {"from": "new", "to": "open"}}
    assert d["clock"]["next_reply"]["state"] == "none"
    assert (d["clock"]["business_minutes_to_next_breach"], d["clock"]["next_breach_metric"]) == (45.0, "first_reply")
    assert build_document(ticket={"id": 1})["clock"]["business_minutes_to_next_breach"] is None
    assert "event" not in build_document(ticket={"id": 1})


def test_null_minutes_never_match_a_guarded_maximum() -> None:
    guarded = compile_condition({"properties": {"clock": {"properties": {
        "business_minutes_to_next_breach": {"type": "number", "maximum": 60}}}}})
    assert not guarded(build_document(ticket={"id": 1}))
    assert guarded(build_document(ticket={"id": 1}, clock={
        "first_reply": {"state": "active", "business_minutes_remaining": 30, "due_at": None}}))


def test_explain() -> None:
    condition = {"anyOf": [{"properties": {"ticket": {"properties": {"priority": {"const": "urgent"}}}}},
                           {"properties": {"customer": {"properties": {"vip": {"const": True}}}}}]}
    why, matched = explain(condition, doc(vip=True))
    assert matched == ("/anyOf/1",)
    assert why == "customer.vip const true (is true)"
    assert explain(None, {}) == ("no condition (always matches)", ())
