"""Must show 3: realistic Zendesk exports (tests/events/zendesk/: SLA policies with business hours and
priorities, triggers with all/any conditions, an hourly automation, a schedule with holidays) become rule
files that pass ``helpdesk check``, plus a report of everything unmapped; then replay runs on them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.engine import load_rules
from tests.replay.conftest import RULES
from tests.replay.test_cli_replay import _history

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "tests" / "events" / "zendesk"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _import(tmp_path: Path) -> tuple[Path, dict]:
    out, report = tmp_path / "rules-zendesk", tmp_path / "report.json"
    proc = _cli("import", "zendesk", "--sla", str(EXPORTS / "sla_policies.json"), "--triggers",
                str(EXPORTS / "triggers.json"), "--automations", str(EXPORTS / "automations.json"),
                "--schedules", str(EXPORTS / "schedules.json"), "--out", str(out), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    assert "unmapped" in proc.stdout
    return out, json.loads(report.read_text(encoding="utf-8"))


def _doc(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text(encoding="utf-8"))


def test_imported_rules_pass_check_and_keep_their_meaning(tmp_path):
    out, _report = _import(tmp_path)
    check = _cli("check", str(out))
    assert check.returncode == 0, check.stdout + check.stderr
    tokyo = _doc(out, "calendars/zd-cal-tokyo-office")
    assert tokyo["timezone"] == "Asia/Tokyo"
    assert tokyo["weekly"] == {d: [["09:30", "18:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    assert tokyo["closed_dates"] == ["2026-11-03", "2026-11-23", "2026-12-29", "2026-12-30", "2026-12-31",
                                     "2027-01-01", "2027-01-02", "2027-01-03"]
    assert _doc(out, "calendars/zd-cal-night-shift-us")["timezone"] == "America/Los_Angeles"
    standard = _doc(out, "zd-sla-standard")
    assert standard["calendar"] == "zd-cal-tokyo-office" and "condition" not in standard
    assert standard["targets"]["normal"] == {"first_reply": 120, "next_reply": 1440, "resolution": 2880}
    assert standard["pause_statuses"] == ["pending", "on-hold"]  # agent work time pauses on hold too
    vip = _doc(out, "zd-sla-vip-customers")
    assert vip["position"] < standard["position"] and vip["pause_statuses"] == ["pending"]
    assert _doc(out, "zd-sla-enterprise-organisation")["enabled"] is False  # organisation filter: unmapped
    complaints = _doc(out, "zd-trigger-complaints-to-high-priority")
    assert complaints["on"] == ["customer_message"]  # update_type Change + role end_user
    pending = _doc(out, "zd-automation-pending-reminder-after-24-hours")
    assert pending["at"] == {"clock": "pending", "offset_minutes": 1440}
    assert pending["actions"][0]["to"] == "customer" and "{{ customer.name }}" in pending["actions"][0]["body"]
    for metric in ("first-reply", "next-reply", "resolution"):
        risk = _doc(out, f"zd-automation-escalate-one-hour-before-an-sla-breach-{metric}")
        assert risk["at"]["offset_minutes"] == -60
    assert _doc(out, "zd-trigger-billing-form-to-billing-group")["enabled"] is False
    assert not (out / "zd-trigger-satisfaction-survey-on-solve.json").exists()

    ruleset = load_rules(out)  # conditions behave: the complaint trigger sees the customer's words
    doc = {"ticket": {"id": 1, "subject": "注文", "status": "open", "priority": "normal", "tags": []},
           "customer": {}, "changes": {}, "clock": {}, "event": {"type": "customer_message", "body_text": "返金希望"}}
    trigger = next(t for t in ruleset.triggers if t.id == "zd-trigger-complaints-to-high-priority")
    assert trigger.matches(doc)
    assert not trigger.matches({**doc, "event": {"type": "customer_message", "body_text": "ありがとう"}})
    assert not trigger.matches({**doc, "ticket": {**doc["ticket"], "priority": "high"}})


def test_the_report_names_every_unmapped_feature_with_its_reason(tmp_path):
    _out, report = _import(tmp_path)
    found = {(f["source"], f["pointer"]): (f["status"], f["reason"]) for f in report["findings"]}
    assert found[("sla_policies", "/sla_policies/0/policy_metrics/6")][1].startswith(
        "metric 'periodic_update_time' has no equivalent")
    assert found[("sla_policies", "/sla_policies/2/filter/all/0")] == (
        "unmapped", "organizations are not modelled; use customer tags")
    assert found[("triggers", "/triggers/2/conditions/all/1")][0] == "unmapped"
    assert "notify_webhook" in found[("triggers", "/triggers/2/actions/2")][1]
    assert found[("triggers", "/triggers/2/actions/1")][0] == "approximated"  # set_tags -> add_tags
    assert "ticket.latest_comment_html" in found[("triggers", "/triggers/0/actions/0")][1]
    assert "hourly" in found[("automations", "/automations/0/conditions/all/1")][1]
    assert "no time condition" in found[("automations", "/automations/2/conditions")][1]
    assert report["unmapped"] == 8 and report["approximated"] == 5


def test_a_team_can_replay_its_history_against_the_imported_rules(tmp_path):
    out, _ = _import(tmp_path)
    proc = _cli("replay", "--rules", str(out), "--baseline-rules", str(RULES), "--from", "2026-11-02", "--to",
                "2026-11-08", "--history", str(_history(tmp_path)), "--format", "json", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["tickets"] == 12
    policies = {r["policy"] for r in report["sla_attainment"]["candidate"]["sla"]}
    assert policies == {"zd-sla-standard"}
