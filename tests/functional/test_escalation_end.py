"""Escalations end: solved, closed or cancelled by an agent, each a timeline event, and nothing
fires for an ended escalation (no reminder, no return, no manager mail). The contact's
reminder before the deadline, and the department's contact_method."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.services import runtime
from chalicelib.services.sweep import sweep
from tests.conftest import ROOT
from tests.functional import test_escalation as base
from tests.functional.conftest import auth
from tests.functional.test_escalation import JSON, TUESDAY_1000, _escalate, _new_ticket, _ticket

clock = base.clock  # the same fixtures as the escalation tests
plugins = base.plugins

JST = ZoneInfo("Asia/Tokyo")


def _jst(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 13, hour, minute, tzinfo=JST).astimezone(timezone.utc)


def _sweep_every_minute(start: datetime, end: datetime) -> None:
    t = start
    while t <= end:
        sweep(t)
        t += timedelta(minutes=1)


def _to_contact(mail) -> list:
    return [n for n in mail.sent if n.recipient == "suzuki.warehouse@example.com"]


def _to_manager(mail) -> list:
    return [n for n in mail.sent if n.recipient == "kato.manager@example.com"]


def test_open_escalation_reminds_the_contact_once_an_hour_before_in_their_zone(client, agents, plugins, clock):
    _chat, mail = plugins
    number = _new_ticket(client)
    esc = _escalate(client, number)
    assert esc["due_local"] == "2026-01-13 14:00 JST" and esc["calendar"] == "jp-office"
    _sweep_every_minute(_jst(12, 58), _jst(13, 1))
    reminders = [n for n in _to_contact(mail) if "ご確認のお願い" in n.subject]
    assert len(reminders) == 1, [n.subject for n in mail.sent]
    assert "2026-01-13 14:00 JST" in reminders[0].subject
    assert f"/console#/ticket/{number}" in reminders[0].body_text


@pytest.mark.parametrize("status", ["solved", "closed"])
def test_solving_or_closing_the_ticket_ends_its_escalation(client, agents, plugins, clock, status):
    _chat, mail = plugins
    number = _new_ticket(client)
    _escalate(client, number)
    clock["now"] = _jst(11, 0)
    resp = client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"status": status}))
    assert resp.status_code == 200, resp.body
    ticket = _ticket(client, number)
    (ended,) = [e for e in ticket["timeline"] if e["type"] == "escalation_ended"]
    assert ended["data"]["reason"] == status and ended["data"]["by"] == "agent:sato"
    assert ticket["escalation"]["state"] == "ended"
    before = len(mail.sent)
    _sweep_every_minute(_jst(12, 59), _jst(14, 1))  # the reminder's minute and the deadline's
    assert len(mail.sent) == before, [n.subject for n in mail.sent[before:]]
    ticket = _ticket(client, number)
    assert ticket["department"] == "warehouse", "an ended escalation is never returned"
    assert not any(e["type"] == "rule_fired" and "escalation" in e["data"]["rule_id"] for e in ticket["timeline"])
    listed = client.http.get("/tickets?view=escalated", headers=auth()).json_body["tickets"]
    assert number not in [t["id"] for t in listed]


def test_an_agent_cancels_the_escalation(client, agents, plugins, clock):
    _chat, mail = plugins
    number = _new_ticket(client)
    _escalate(client, number)
    clock["now"] = _jst(10, 30)
    resp = client.http.delete(f"/tickets/{number}/escalations/current", headers={**auth(), **JSON},
                              body=json.dumps({"reason": "お客様が自己解決"}))
    assert resp.status_code == 200, resp.body
    assert resp.json_body["escalation"]["reason"] == "cancelled"
    ticket = _ticket(client, number)
    (ended,) = [e for e in ticket["timeline"] if e["type"] == "escalation_ended"]
    assert ended["data"] == {**ended["data"], "reason": "cancelled", "by": "agent:sato", "note": "お客様が自己解決"}
    assert ticket["status"] == "open"  # the ticket itself goes on
    again = client.http.delete(f"/tickets/{number}/escalations/current", headers=auth())
    assert again.status_code == 400 and again.json_body["errors"][0]["field"] == "escalation"
    before = len(mail.sent)
    _sweep_every_minute(_jst(12, 59), _jst(14, 1))
    # The first-reply breach (12:00) still tells the manager; nothing about the escalation goes out.
    assert [n.metadata["rule_id"] for n in mail.sent[before:]] == ["notify-manager-on-breach"]
    assert _ticket(client, number)["department"] == "warehouse"
    assert client.http.delete(f"/tickets/{number}/escalations/current").status_code == 401


def test_solving_after_the_escalation_was_answered_adds_no_end_event(client, agents, plugins, clock):
    number = _new_ticket(client)
    _escalate(client, number)
    resp = client.http.post(f"/tickets/{number}/escalations/decline", headers={**auth(), **JSON},
                            body=json.dumps({"reason": "担当外です"}))
    assert resp.status_code == 200
    sweep(TUESDAY_1000 + timedelta(minutes=1))  # declined: returned at the next sweep
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"status": "solved"}))
    timeline = _ticket(client, number)["timeline"]
    assert [e for e in timeline if e["type"] == "escalation_ended"] == [] or all(
        e["data"]["reason"] == "solved" for e in timeline if e["type"] == "escalation_ended")


@pytest.fixture
def sms_rules(tmp_path, monkeypatch):
    """A rules copy whose warehouse department is reached by SMS."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "directory" / "departments.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["departments"][1]["contact_method"] = "sms"
    doc["departments"][1]["contacts"][0]["phone"] = "+819012345678"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("HELPDESK_RULES_DIR", str(rules))
    runtime.reset()
    yield rules
    runtime.reset()


def test_department_contact_method_sends_the_request_by_that_target(client, agents, plugins, clock, sms_rules):
    from chalicelib.store import outbox

    number = _new_ticket(client)
    _escalate(client, number)
    items, _ = outbox.list_state("sent", limit=50)
    items += outbox.list_state("failed", limit=50)[0] + outbox.list_state("pending", limit=50)[0]
    (request,) = [i for i in items if i.ticket_id == number and i.rule_id == "escalation"]
    assert (request.target, request.recipient) == ("sms", "+819012345678")
