"""The pure decision functions production and the replay share (services.decide)."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

from chalicelib.engine import load_rules
from chalicelib.services import decide
from chalicelib.services.runtime import Runtime, load_calendars

RULES = Path(__file__).resolve().parents[2] / "rules"
RUNTIME = Runtime(RULES, load_rules(RULES), load_calendars(RULES))
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # Mon 10:00 JST


def _new(**over):
    fields = {"number": 7, "status": "new", "priority": "normal", "channel": "form", "subject": "hello",
              "customer_id": "c1", "created_at": T0, "updated_at": T0, "last_customer_message_at": T0,
              "tags": [], "fired_keys": []}
    return {**fields, **over}


def _created():
    first = {"id": "e1", "actor": "customer:email:a@example.com", "data": {"body_text": "hi", "subject": "hello"}}
    return decide.creation_plan(_new(), {"id": "c1", "vip": False}, first, T0, RUNTIME)


def test_creation_plans_the_first_reply_clock_and_the_warning():
    plan = _created()
    assert plan.fields["sla"]["metrics"]["first_reply"]["due_at"] == "2026-11-02T03:00:00Z"
    # the earliest thing due is the 1h warning (60 min before the 120 min target)
    assert plan.fields["next_due_at"] == int((T0 + timedelta(hours=1)).timestamp())
    assert [e["data"]["rule_id"] for e in plan.events if e["type"] == "rule_fired"] == ["auto-reply-ticket-created"]


def test_sweep_records_the_breach_once_and_is_due_follows_the_index():
    fields = _created().fields
    due = T0 + timedelta(hours=2)
    assert not decide.is_due(fields, due - timedelta(hours=1, minutes=1))
    assert decide.is_due(fields, due)
    first = decide.sweep_plan(fields, {}, due, RUNTIME)
    assert first.changed and any(k.startswith("sla-breach#7#first_reply") for k in first.keys)
    assert "notify-manager-on-breach#7#first_reply:2026-11-02T01:00:00Z" in first.keys
    assert "sla-breached" in first.plan.fields["tags"]
    again = decide.sweep_plan(first.plan.fields, {}, due, RUNTIME)
    assert again.keys == [] and not again.changed


def test_reply_stops_the_clock_and_an_agent_change_opens_a_new_ticket():
    fields = _created().fields
    after = dict(fields)
    decide.reply_fields(after, T0 + timedelta(minutes=30), "pending")
    plan = decide.change_plan(fields, after, decide.Extra(event_types=["agent_reply"]), {}, "agent:a",
                              T0 + timedelta(minutes=30), RUNTIME)
    assert plan.fields["sla"]["metrics"]["first_reply"]["state"] == "achieved"
    assert plan.fields["status"] == "pending"
    opened = decide.change_plan(fields, dict(fields, assignee="alice"), decide.Extra(), {}, "agent:a", T0, RUNTIME)
    assert opened.fields["status"] == "open"
    assert {e["type"] for e in opened.events} >= {"assigned", "status_changed"}


def test_a_customer_message_reopens_and_the_contact_answers_the_escalation():
    fields = dict(_created().fields, status="pending", first_replied_at=T0)
    msg = {"received_at": T0 + timedelta(hours=1), "body_text": "more", "actor": "customer:email:a@example.com"}
    plan = decide.message_plan(fields, {}, msg, "e2", T0 + timedelta(hours=1), RUNTIME)
    assert plan.fields["status"] == "open" and plan.fields["awaiting_reply_since"] == msg["received_at"]
    esc = dict(fields, escalation={"state": "open", "contact": {"email": "Legal@Example.com"}})
    staff = {"received_at": T0, "internal": True, "sender_email": "legal@example.com", "actor": "contact:x"}
    answered = decide.message_plan(esc, {}, staff, "e3", T0, RUNTIME)
    assert answered.fields["escalation"]["state"] == "answered"
    assert answered.events[0]["type"] == "escalation_answered"
