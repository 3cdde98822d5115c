"""Every time a person reads is in their zone (or the calendar's) with the zone named: the
warning by mail, Slack and SMS, the manager's breach mail, the escalation request and its
history, the ticket API the console shows, and ``explain`` (the CLI as a subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.directory import load_directory
from chalicelib.services import effects, runtime
from chalicelib.settings import get_settings
from chalicelib.store import tickets
from tests.conftest import ROOT
from tests.functional import test_escalation as base
from tests.functional.conftest import auth
from tests.functional.test_escalation import JSON, _escalate, _new_ticket, _ticket

JST = ZoneInfo("Asia/Tokyo")
TUESDAY_1000 = datetime(2026, 1, 13, 10, 0, tzinfo=JST).astimezone(timezone.utc)
clock = base.clock
plugins = base.plugins


@pytest.fixture
def berlin_manager(tmp_path, monkeypatch):
    """A rules copy whose support manager reads times in Berlin and whose warehouse contact in UTC."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "directory" / "departments.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["departments"][0]["manager"]["timezone"] = "Europe/Berlin"
    doc["departments"][1]["contacts"][0]["timezone"] = "UTC"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("HELPDESK_RULES_DIR", str(rules))
    monkeypatch.setenv("HELPDESK_PUBLIC_BASE_URL", "https://help.example.jp/")
    runtime.reset()
    yield rules
    runtime.reset()


def _render(number: int, target: str, to, template: str, now: datetime):
    ticket = tickets.get_ticket(number)
    effect = {"type": "notify", "target": target, "to": to, "template": template, "metric": "first_reply",
              "rule_id": "test"}
    return effects.notification_item(ticket, effect, now, load_directory(get_settings().rules_dir),
                                     ["email", "slack", "sms"])


def test_warning_and_breach_in_every_target_show_local_time_with_zone(client, agents, plugins, clock,
                                                                      berlin_manager):
    number = _new_ticket(client)
    resp = client.http.patch(f"/tickets/{number}", headers={**auth(), **JSON},
                             body=json.dumps({"priority": "high", "assignee": "sato"}))
    assert resp.status_code == 200
    now = TUESDAY_1000 + timedelta(minutes=58, seconds=53)  # due 11:00:00 JST: 67 s left
    mail = _render(number, "email", "assignee", "sla-warning", now)
    assert "残り1分" in mail.subject and "残り2分" not in mail.subject, mail.subject
    assert "期限: 2026-01-13 11:00 JST（残り1分）" in mail.body
    assert f"https://help.example.jp/console#/ticket/{number}" in mail.body
    slack = _render(number, "slack", "assignee", "sla-warning", now)
    assert "2026-01-13 11:00 JST" in slack.body and "残り1分" in slack.subject
    sms = _render(number, "sms", "assignee", "sla-warning", now)
    assert "2026-01-13 11:00 JST" in sms.body
    breach = _render(number, "email", "manager", "sla-breached", now + timedelta(minutes=2))
    assert breach.recipient == "kato.manager@example.com"
    assert "期限: 2026-01-13 03:00 CET" in breach.body  # the manager's own zone

    shown = _ticket(client, number)["sla"]  # what the console shows
    assert shown["metrics"]["first_reply"]["due_local"] == "2026-01-13 11:00 JST"
    assert shown["timezone"] == "Asia/Tokyo"


def test_escalation_request_history_and_deadline_in_the_contacts_zone(client, agents, plugins, clock,
                                                                      berlin_manager):
    _chat, mail = plugins
    number = _new_ticket(client)
    esc = _escalate(client, number)
    assert esc["due_local"] == "2026-01-13 05:00 UTC"  # 14:00 JST for a contact who reads UTC
    (request,) = [n for n in mail.sent if n.recipient == "suzuki.warehouse@example.com"]
    assert "2026-01-13 05:00 UTC" in request.subject
    assert "- 2026-01-13 01:00 UTC 山田 花子: 荷物が届きません" in request.body_text  # the history line


def test_explain_prints_local_times_with_the_zone(tmp_path):
    ticket = tmp_path / "ticket.json"
    ticket.write_text(json.dumps({"id": 7, "priority": "normal", "status": "open", "assignee": "sato",
                                  "created_at": "2026-01-09T07:00:00Z"}), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", "explain", "--ticket", str(ticket),
                           "--at", "2026-01-09T16:30:00+09:00"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["at_local"] == "2026-01-09 16:30 JST"
    assert report["deadlines"]["first_reply"]["due_local"] == "2026-01-09 18:00 JST"
    warn = next(a for a in report["automations_scheduled"] if a["rule"] == "warn-assignee-1h-before-breach")
    assert warn["fire_at_local"] == "2026-01-09 17:00 JST"
