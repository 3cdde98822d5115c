"""``check`` validates the department directory, the pre-send checks and every other file under
rules/, as a rule author meets it: the CLI as a subprocess, each problem as file + JSON pointer."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from chalicelib.directory import check_directory

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ["email", "slack", "sms", "webhook", "log"]


def _copy(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    return rules


def _edit_directory(rules: Path, edit) -> None:
    path = rules / "directory" / "departments.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _check(rules: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", "check", str(rules)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_shipped_directory_is_valid():
    assert check_directory(ROOT / "rules", ["jp-office", "24x7"], TARGETS) == []


def test_check_rejects_a_broken_departments_json_with_file_and_pointer(tmp_path):
    rules = _copy(tmp_path)

    def broken(doc):
        doc["departments"][1]["escalation_deadline_minute"] = "3"  # the typo that fell back to 240
        doc["departments"][2]["escalation_deadline_minutes"] = "three"
        doc["departments"][2]["contacts"][0]["phone"] = "03-1234-5678"  # not E.164
    _edit_directory(rules, broken)
    (rules / "sla-vip.json.bak").write_text("{}", encoding="utf-8")
    (rules / "checks" / "presend.json").write_text('{"placeholder_patterns": ["(unclosed"], "warn": []}')
    result = _check(rules)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("directory/departments.json /departments/1/escalation_deadline_minute: unknown "
                               "property") for line in lines), lines
    assert ("directory/departments.json /departments/2/escalation_deadline_minutes: 'three' is not of type "
            "'integer'") in lines
    assert any(line.startswith("directory/departments.json /departments/2/contacts/0/phone:") for line in lines)
    assert any(line.startswith("sla-vip.json.bak /: not read by the service") for line in lines)
    assert any(line.startswith("checks/presend.json /warn: unknown property") for line in lines)


def test_directory_semantics_ids_calendars_and_contact_method(tmp_path):
    rules = _copy(tmp_path)

    def semantics(doc):
        doc["departments"][1]["calendar"] = "osaka-office"
        doc["departments"][2]["contact_method"] = "sms"  # the billing contact has no phone
        doc["departments"][2]["contacts"].append({"id": "suzuki", "name": "二人目", "email": "x@example.com"})
        doc["departments"][0]["manager"]["timezone"] = "Asia/Tokio"
    _edit_directory(rules, semantics)
    problems = {(p["pointer"], p["message"].split(" (")[0])
                for p in check_directory(rules, ["jp-office", "24x7"], TARGETS)}
    assert ("/departments/1/calendar", "unknown calendar 'osaka-office'") in problems
    assert ("/departments/2/contacts/0", "contact_method is 'sms' but this contact has no 'phone'") in problems
    assert ("/departments/2/contacts/1/id", "contact id 'suzuki' is also at /departments/1/contacts/0") in problems
    assert ("/departments/0/manager/timezone", "unknown time zone 'Asia/Tokio'") in problems

    _edit_directory(rules, lambda doc: doc["departments"][2].update(contact_method="fax"))
    assert any(p["pointer"] == "/departments/2/contact_method" and "unknown notification target 'fax'" in p["message"]
               for p in check_directory(rules, ["jp-office"], TARGETS))
    # An installed plugin target makes the method (and the person's address field) valid.
    _edit_directory(rules, lambda doc: doc["departments"][2]["contacts"][0].update(fax="+81300000000"))
    fax = [(p["pointer"], p["message"]) for p in check_directory(rules, ["jp-office"], [*TARGETS, "fax"])
           if "fax" in p["message"]]
    assert fax == [("/departments/2/contacts/1", "contact_method is 'fax' but this contact has no 'fax'")]


def test_a_missing_support_department_is_an_error(tmp_path):
    rules = _copy(tmp_path)
    _edit_directory(rules, lambda doc: doc.update(departments=doc["departments"][1:]))
    assert [p["pointer"] for p in check_directory(rules, ["jp-office"], TARGETS)] == ["/departments"]
