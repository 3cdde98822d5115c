"""Escalation to another department: the contact is told, answers by mail, or the ticket comes back."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.plugin_manager import get_plugin_manager
from chalicelib.services.sweep import sweep
from tests.functional.conftest import auth, make_supervisor
from tests.functional.fakes import TestChat
from tests.functional.test_sla_sweep import CapturingEmail

JST = ZoneInfo("Asia/Tokyo")
JSON = {"Content-Type": "application/json"}
TUESDAY_1000 = datetime(2026, 1, 13, 10, 0, tzinfo=JST).astimezone(timezone.utc)


@pytest.fixture
def plugins():
    pm = get_plugin_manager()
    chat, mail = TestChat(), CapturingEmail()
    pm.register(chat)
    pm.register(mail)
    yield chat, mail
    pm.unregister(chat)
    pm.unregister(mail)


@pytest.fixture
def clock(monkeypatch):
    state = {"now": TUESDAY_1000}
    for target in ("chalicelib.api.webhooks.utcnow", "chalicelib.api.tickets.utcnow", "chalicelib.api.agent.utcnow",
                   "chalicelib.api.escalations.utcnow"):
        monkeypatch.setattr(target, lambda: state["now"])
    return state


def _new_ticket(client) -> int:
    resp = client.http.post("/webhooks/testchat", headers=JSON, body=json.dumps(
        {"id": "e1", "user": "u1", "name": "山田 花子", "email": "hanako@example.jp", "text": "荷物が届きません"}))
    return resp.json_body["results"][0]["ticket_id"]


def _escalate(client, number: int) -> dict:
    resp = client.http.post(f"/tickets/{number}/escalations", headers={**auth(), **JSON}, body=json.dumps(
        {"department": "warehouse", "contact": "suzuki", "note": "出荷状況を確認してください", "due_minutes": 240}))
    assert resp.status_code == 201, resp.body
    return resp.json_body


def _ticket(client, number: int) -> dict:
    return client.http.get(f"/tickets/{number}", headers=auth()).json_body


def test_unanswered_escalation_returns_to_support_and_tells_the_manager_once(client, agents, plugins, clock):
    chat, mail = plugins
    number = _new_ticket(client)
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"assignee": "sato"}))
    esc = _escalate(client, number)
    assert esc["due_at"] == "2026-01-13T05:00:00Z"  # Tue 10:00 + 4 business hours = 14:00 JST
    (request,) = [n for n in mail.sent if n.recipient == "suzuki.warehouse@example.com"]
    assert "出荷状況を確認してください" in request.body_text and "荷物が届きません" in request.body_text
    assert f"[#{number}]" in request.subject and "2026-01-13 14:00" in request.subject
    assert _ticket(client, number)["department"] == "warehouse"

    sweep(datetime(2026, 1, 13, 13, 59, tzinfo=JST).astimezone(timezone.utc))
    assert _ticket(client, number)["department"] == "warehouse"
    for _ in range(2):  # the deadline minute, swept twice
        sweep(datetime(2026, 1, 13, 14, 0, tzinfo=JST).astimezone(timezone.utc))
    ticket = _ticket(client, number)
    assert ticket["department"] == "support" and ticket["assignee"] is None and ticket["status"] == "open"
    returned = [n for n in mail.sent if n.recipient == "kato.manager@example.com" and "エスカレーション" in n.subject]
    assert len(returned) == 1, [n.subject for n in mail.sent]
    assert "warehouse" in returned[0].body_text
    steps = [e["type"] if e["type"] != "rule_fired" else e["data"]["rule_id"] for e in ticket["timeline"]]
    assert steps.index("escalated") < steps.index("return-unanswered-escalation")
    assert steps.count("return-unanswered-escalation") == 1
    notes = [e["data"]["body"] for e in ticket["timeline"] if e["type"] == "note"]
    assert any("サポートの受付キューに戻しました" in n for n in notes)


def test_contacts_mailed_answer_is_an_internal_message_not_sent_to_the_customer(client, agents, plugins, clock,
                                                                               mail_env):
    from tests.functional.mailkit import make_mail, post_mail, sent_mail

    _chat, mail = plugins
    created = post_mail(client, make_mail(subject="荷物が届きません", body="注文 A-1001 がまだ届きません。"))
    number = created.json_body["results"][0]["ticket_id"]
    _escalate(client, number)
    (request,) = [n for n in mail.sent if n.recipient == "suzuki.warehouse@example.com"]
    to_customer_before = len(sent_mail())
    answer = make_mail(sender="鈴木 <suzuki.warehouse@example.com>", subject=f"Re: {request.subject}",
                       body="本日出荷済みです。追跡番号 1234-5678\n\n> ご確認をお願いします")
    assert post_mail(client, answer).json_body["results"][0]["ticket_id"] == number
    ticket = _ticket(client, number)
    internal = [e for e in ticket["timeline"] if e["type"] == "internal_message"]
    assert len(internal) == 1 and "追跡番号 1234-5678" in internal[0]["data"]["body_text"]
    assert any(e["type"] == "escalation_answered" for e in ticket["timeline"])
    assert len(sent_mail()) == to_customer_before, "nothing went to the customer"
    assert ticket["customer"]["email"] == "hanako@example.jp" and ticket["status"] != "pending"
    for _ in range(2):
        sweep(datetime(2026, 1, 13, 14, 0, tzinfo=JST).astimezone(timezone.utc))
    assert _ticket(client, number)["department"] == "warehouse", "an answered escalation is not returned"


def test_re_escalation_keeps_the_chain_and_decline_returns_at_next_sweep(client, agents, plugins, clock):
    number = _new_ticket(client)
    _escalate(client, number)
    resp = client.http.post(f"/tickets/{number}/escalations", headers={**auth(), **JSON}, body=json.dumps(
        {"department": "billing", "note": "返金の可否を確認してください"}))
    assert resp.status_code == 201
    assert [c["department"] for c in resp.json_body["chain"]] == ["warehouse"]
    declined = client.http.post(f"/tickets/{number}/escalations/decline", headers={**auth(), **JSON},
                                body=json.dumps({"reason": "担当外です"}))
    assert declined.status_code == 200
    sweep(TUESDAY_1000)
    assert _ticket(client, number)["department"] == "support"


def test_directory_lists_departments_and_suggests_by_category(client, agents):
    resp = client.http.get("/departments?category=shipping", headers=auth())
    assert [d["id"] for d in resp.json_body["departments"]] == ["warehouse"]
    assert len(client.http.get("/departments", headers=auth()).json_body["departments"]) == 3
    assert client.http.get("/departments").status_code == 401


def test_assigning_a_ticket_emails_the_new_assignee_once(client, agents, plugins, clock):
    _chat, mail = plugins
    make_supervisor()  # reassigning is a supervisor's (chalicelib.roles)
    number = _new_ticket(client)
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"assignee": "tanaka"}))
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"priority": "high"}))
    client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON}, body=json.dumps({"assignee": None}))
    told = [n for n in mail.sent if "担当になりました" in n.subject]
    assert [n.recipient for n in told] == ["tanaka@example.com"]
