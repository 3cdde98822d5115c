"""The rule author's command line: check and explain."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from chalicelib.cli import check_all, main
from tests.conftest import ROOT


def test_shipped_rules_calendars_and_templates_pass(capsys):
    assert main(["check", str(ROOT / "rules")]) == 0
    assert "OK" in capsys.readouterr().err


def _copy_rules(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


def test_broken_files_are_reported_by_file_and_pointer_and_exit_1(tmp_path):
    rules = _copy_rules(tmp_path)
    rule = json.loads((rules / "vip-priority.json").read_text())
    rule["actions"][0]["priority"] = "very-high"
    rule["condition"]["properties"]["ticket"]["properties"]["prioirty"] = {"const": "low"}
    (rules / "vip-priority.json").write_text(json.dumps(rule))
    cal = json.loads((rules / "calendars" / "jp-office.json").read_text())
    cal["timezone"] = "Mars/Olympus"
    (rules / "calendars" / "jp-office.json").write_text(json.dumps(cal))
    (rules / "templates" / "received.json").write_text(json.dumps({"ja": {"subject": "{{ tikcet.id }}", "body": ""}}))

    out = subprocess.run([sys.executable, "-m", "chalicelib.cli", "check", str(rules)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert any(line.startswith("vip-priority.json /actions/0/priority:") for line in lines), lines
    assert any(line.startswith("vip-priority.json /condition/properties/ticket/properties/prioirty") for line in lines)
    assert any(line.startswith("calendars/jp-office.json") and "Mars/Olympus" in line for line in lines), lines
    assert any(line.startswith("templates/received.json") and "tikcet" in line for line in lines), lines


def test_unknown_notification_target_and_template_are_errors(tmp_path):
    rules = _copy_rules(tmp_path)
    rule = json.loads((rules / "notify-manager-on-breach.json").read_text())
    rule["actions"][0]["target"] = "pager"
    rule["actions"][0]["template"] = "nope"
    (rules / "notify-manager-on-breach.json").write_text(json.dumps(rule))
    messages = [(e["file"], e["pointer"], e["message"]) for e in check_all(rules)]
    assert ("notify-manager-on-breach.json", "/actions/0/target") in {(f, p) for f, p, _ in messages}
    assert ("notify-manager-on-breach.json", "/actions/0/template") in {(f, p) for f, p, _ in messages}


def test_explain_shows_policy_deadlines_triggers_and_scheduled_automations(tmp_path, capsys):
    ticket = {"id": 42, "subject": "クーポンが使えない", "priority": "low", "status": "open", "assignee": "sato",
              "created_at": "2026-01-09T16:00:00+09:00", "customer": {"name": "山田", "vip": False},
              "event": {"type": "ticket_created", "body_text": "クーポンが適用されません"}}
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps(ticket, ensure_ascii=False))
    assert main(["explain", "--ticket", str(path), "--at", "2026-01-09T16:30:00+09:00",
                 "--rules", str(ROOT / "rules")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sla_policy"] == "sla-default"
    assert report["deadlines"]["first_reply"]["due_at"] == "2026-01-13T06:00:00Z"
    assert [t["rule"] for t in report["triggers"]] == ["complaint-keywords-priority", "auto-reply-ticket-created"]
    scheduled = {a["rule"]: a["fire_at"] for a in report["automations_scheduled"]}
    assert scheduled["warn-assignee-1h-before-breach"] == "2026-01-13T05:00:00Z"
    assert scheduled["notify-manager-on-breach"] == "2026-01-13T06:00:00Z"
