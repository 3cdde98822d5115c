"""Rule files: every problem of every file reported at once, with file and JSON pointer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.engine import RULE_SCHEMA, RuleErrors, check_rules, load_rules, reference_errors
from chalicelib.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(directory: Path, name: str, data: Any) -> None:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")


def trigger(condition: Any = None, position: int = 10, **extra: Any) -> dict[str, Any]:
    rule = {"kind": "trigger", "position": position, "on": ["ticket_created"],
            "actions": [{"type": "add_tags", "tags": ["x"]}], **extra}
    if condition is not None:
        rule["condition"] = condition
    return rule


def pointers(errors: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["file"], e["pointer"]) for e in errors}


def ticket_cond(props: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"ticket": {"properties": props}}}


def test_shipped_rules_pass() -> None:
    assert check_rules(ROOT / "rules") == []
    rules = load_rules(ROOT / "rules")
    assert [r.id for r in rules.slas] == ["sla-vip", "sla-default"]
    triggers = {r.id for r in rules.triggers}
    assert {"vip-priority", "complaint-keywords-priority", "auto-reply-ticket-created"} <= triggers
    assert {"warn-assignee-1h-before-breach", "notify-manager-on-breach", "return-unanswered-escalation"} <= {
        r.id for r in rules.automations}
    default = rules.get("sla-default")
    assert default.calendar == "jp-office"
    assert (default.target("normal", "first_reply"), default.target("normal", "next_reply"),
            default.target("normal", "resolution")) == (120, 1440, 2880)


def test_rule_schema_is_a_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(RULE_SCHEMA)


def test_all_files_all_errors_at_once(tmp_path: Path) -> None:
    write(tmp_path, "a.json", {"kind": "trigger", "position": "1", "actions": [{"type": "explode"}]})
    write(tmp_path, "b.json", '{"kind": "trigger", ')
    write(tmp_path, "c.json", {"kind": "sla", "position": 1, "targets": {"urgnt": {"first_reply": 0}}})
    write(tmp_path, "d.json", {"kind": "slaa"})
    write(tmp_path, "ok.json", trigger())
    errors = check_rules(tmp_path)
    assert all(set(e) == {"file", "pointer", "message"} for e in errors)
    assert {
        ("a.json", "/position"),
        ("a.json", "/on"),
        ("a.json", "/actions/0/type"),
        ("b.json", ""),
        ("c.json", "/calendar"),
        ("c.json", "/targets/urgnt"),
        ("d.json", "/kind"),
    } <= pointers(errors)
    assert not any(e["file"] == "ok.json" for e in errors)
    assert "invalid JSON" in next(e["message"] for e in errors if e["file"] == "b.json")
    assert errors == sorted(errors, key=lambda e: (e["file"], e["pointer"], e["message"]))
    with pytest.raises(RuleErrors) as info:
        load_rules(tmp_path)
    assert isinstance(info.value, ConfigError)
    assert info.value.errors == errors
    assert "a.json /position" in str(info.value)


def test_unknown_condition_field_is_flagged_with_pointer(tmp_path: Path) -> None:
    write(tmp_path, "typo.json", trigger(ticket_cond({"prioirty": {"const": "high"}})))
    [error] = check_rules(tmp_path)
    assert error["file"] == "typo.json"
    assert error["pointer"] == "/condition/properties/ticket/properties/prioirty"
    assert "did you mean 'priority'" in error["message"]


@pytest.mark.parametrize(
    ("condition", "pointer", "words"),
    [
        ({"required": ["tickets"]}, "/condition/required/0", "unknown field"),
        ({"properties": {"ticket": {"enun": ["x"]}}}, "/condition/properties/ticket/enun",
         "unknown JSON Schema keyword"),
        ({"anyOf": [{"properties": {"customer": {"properties": {"vipp": {"const": True}}}}}]},
         "/condition/anyOf/0/properties/customer/properties/vipp", "unknown field"),
        ({"not": {"properties": {"clock": {"properties": {"first_reply": {"properties": {"stat": {}}}}}}}},
         "/condition/not/properties/clock/properties/first_reply/properties/stat", "unknown field"),
        (ticket_cond({"tags": {"items": {"properties": {"x": {}}}}}),
         "/condition/properties/ticket/properties/tags/items/properties", "has no effect"),
        (ticket_cond({"status": {"const": "opne"}}), "/condition/properties/ticket/properties/status/const",
         "never 'opne'"),
        (ticket_cond({"priority": {"enum": ["high", "hihg"]}}),
         "/condition/properties/ticket/properties/priority/enum/1", "never 'hihg'"),
        (ticket_cond({"id": {"type": "string"}}), "/condition/properties/ticket/properties/id/type", "never of type"),
        (ticket_cond({"subject": {"minimum": 3}}), "/condition/properties/ticket/properties/subject/minimum",
         "no effect"),
        ({"properties": {"clock": {"properties": {"business_minutes_to_next_breach": {"maximum": 60}}}}},
         "/condition/properties/clock/properties/business_minutes_to_next_breach/maximum", "also matches null"),
        (ticket_cond({"category": {"pattern": "bill"}}), "/condition/properties/ticket/properties/category/pattern",
         "also matches null"),
        ({"$ref": "#/$defs/x", "$defs": {"x": {}}}, "/condition/$ref", "not supported"),
        (ticket_cond({"subject": {"type": "strng"}}), "/condition/properties/ticket/properties/subject/type", ""),
        (ticket_cond({"subject": {"type": "string", "pattern": "(unclosed"}}),
         "/condition/properties/ticket/properties/subject/pattern", "regex"),
        ([1, 2], "/condition", "not of type"),
    ],
)
def test_condition_problems(tmp_path: Path, condition: Any, pointer: str, words: str) -> None:
    write(tmp_path, "rule.json", trigger(condition))
    errors = check_rules(tmp_path)
    assert pointer in {e["pointer"] for e in errors}, errors
    assert any(words in e["message"] for e in errors if e["pointer"] == pointer), errors


@pytest.mark.parametrize("condition", [
    {"type": 5}, {"allOf": 5}, {"required": [1]}, {"enum": 5}, {"prefixItems": 3}, {"properties": 5},
    {"dependentRequired": {"a": 5}}, {"if": 3}, {"contains": []}, {"type": ["object", 3]},
    {"properties": {"ticket": {"properties": {"tags": {"prefixItems": [{"const": 1}]}}}}},
])
def test_malformed_conditions_are_errors_not_crashes(tmp_path: Path, condition: Any) -> None:
    write(tmp_path, "rule.json", trigger(condition))
    errors = check_rules(tmp_path)
    assert errors and all(e["pointer"].startswith("/condition") for e in errors)


def test_guarded_and_nested_conditions_pass(tmp_path: Path) -> None:
    write(tmp_path, "ok.json", trigger({
        "properties": {
            "clock": {"properties": {"business_minutes_to_next_breach": {"type": "number", "maximum": 60}}},
            "ticket": {"properties": {"tags": {"contains": {"const": "vip"}},
                                      "category": {"type": "string", "pattern": "^bill"}}},
            "changes": {"properties": {"status": {"properties": {"to": {"const": "solved"}}}}},
        },
        "required": ["changes"],
        "if": {"properties": {"event": {"properties": {"type": {"const": "ticket_created"}}}}},
        "then": {"properties": {"customer": {"properties": {"vip": {"const": True}}}}},
    }))
    assert check_rules(tmp_path) == []


def test_event_and_changes_only_exist_for_triggers(tmp_path: Path) -> None:
    write(tmp_path, "auto.json", {
        "kind": "automation", "at": {"clock": "first_reply", "offset_minutes": -60},
        "condition": {"properties": {"event": {"properties": {"type": {"const": "agent_reply"}}}}},
        "actions": [{"type": "add_note", "body": "x"}],
    })
    [error] = check_rules(tmp_path)
    assert error["pointer"] == "/condition/properties/event"
    assert "only in the document when triggers" in error["message"]


@pytest.mark.parametrize(
    ("action", "pointer", "words"),
    [
        ({"type": "notify", "target": "email", "to": "assignee", "template": "t", "too": "x"}, "/actions/0/too",
         "unknown property 'too'"),
        ({"type": "notify", "target": "email", "to": "boss", "body": "x"}, "/actions/0/to", "not valid"),
        ({"type": "notify", "target": "email", "to": {"adress": "a@b"}, "body": "x"}, "/actions/0/to", ""),
        ({"type": "notify", "target": "email", "to": "assignee"}, "/actions/0", "'template' or 'body'"),
        ({"type": "notify", "to": "assignee", "body": "x"}, "/actions/0/target", "required"),
        ({"type": "set_priority", "priority": "hgh"}, "/actions/0/priority", "is not one of"),
        ({"type": "set_status", "status": "new"}, "/actions/0/status", "is not one of"),
        ({"type": "add_tags", "tags": []}, "/actions/0/tags", ""),
        ({"type": "add_tags", "tags": ["two words"]}, "/actions/0/tags/0", ""),
        ({"type": "assign"}, "/actions/0", "'agent' or 'department'"),
        ({"type": "return_to_queue", "department": "x"}, "/actions/0/department", "unknown property"),
        ({"type": "auto_reply"}, "/actions/0/template", "required"),
        ({"kind": "add_note"}, "/actions/0/type", "required"),
    ],
)
def test_invalid_actions(tmp_path: Path, action: dict[str, Any], pointer: str, words: str) -> None:
    write(tmp_path, "rule.json", {**trigger(), "actions": [action]})
    errors = check_rules(tmp_path)
    assert pointer in {e["pointer"] for e in errors}, errors
    assert any(words in e["message"] for e in errors if e["pointer"] == pointer), errors


def test_valid_actions_pass(tmp_path: Path) -> None:
    actions = [
        {"type": "set_priority", "priority": "urgent"}, {"type": "set_status", "status": "pending"},
        {"type": "add_tags", "tags": ["苦情", "vip"]}, {"type": "remove_tags", "tags": ["x"]},
        {"type": "assign", "department": "billing"}, {"type": "assign", "agent": "sato"},
        {"type": "return_to_queue"}, {"type": "auto_reply", "template": "received"},
        {"type": "notify", "target": "slack", "to": {"address": "#support"}, "subject": "s", "body": "b"},
        {"type": "notify", "target": "email", "to": "department_manager", "template": "sla-warning"},
        {"type": "add_note", "body": "メモ"},
    ]
    write(tmp_path, "rule.json", {**trigger(), "actions": actions})
    assert check_rules(tmp_path) == []


def test_positions_and_unreachable_slas(tmp_path: Path) -> None:
    write(tmp_path, "t1.json", trigger(position=5))
    write(tmp_path, "t2.json", trigger(position=5))
    write(tmp_path, "t3-disabled.json", trigger(position=5, enabled=False))
    sla = {"kind": "sla", "calendar": "jp-office", "targets": {"normal": {"first_reply": 60}}}
    write(tmp_path, "sla-default.json", {**sla, "position": 50})
    write(tmp_path, "sla-late.json", {**sla, "position": 60, "condition": {"required": ["ticket"]}})
    write(tmp_path, "sla-early.json", {**sla, "position": 10, "condition": {"required": ["ticket"]}})
    for name in ("a1.json", "a2.json"):  # automations may share positions
        write(tmp_path, name, {"kind": "automation", "position": 1, "at": {"clock": "resolution"},
                               "actions": [{"type": "add_note", "body": "x"}]})
    errors = check_rules(tmp_path, calendars=["jp-office"])
    assert pointers(errors) == {("t2.json", "/position"), ("sla-late.json", "/position")}
    messages = {e["file"]: e["message"] for e in errors}
    assert "also used by trigger 't1'" in messages["t2.json"]
    assert "never selected" in messages["sla-late.json"]


def test_calendars_checked_against_calendars_folder(tmp_path: Path) -> None:
    write(tmp_path, "calendars/jp-office.json", {"id": "jp-office"})
    write(tmp_path, "sla.json", {"kind": "sla", "position": 1, "calendar": "jp-offce",
                                 "targets": {"normal": {"first_reply": 60}}})
    [error] = check_rules(tmp_path)
    assert (error["file"], error["pointer"]) == ("sla.json", "/calendar")
    assert "jp-offce" in error["message"] and "jp-office" in error["message"]


def test_file_level_problems(tmp_path: Path) -> None:
    write(tmp_path, "dupe.json", '{"kind": "trigger", "position": 1, "on": ["ticket_created"], '
                                 '"actions": [{"type": "add_tags", "tags": ["a"], "tags": ["b"]}]}')
    write(tmp_path, "bad name.json", trigger(position=2))
    write(tmp_path, "mismatch.json", trigger(position=3, id="other"))
    write(tmp_path, "nested/rule.json", trigger(position=4))
    write(tmp_path, "calendars/x.json", {"not": "a rule"})
    write(tmp_path, "templates/received.json", {"ja": {}})
    write(tmp_path, "directory/departments.json", {"departments": []})
    write(tmp_path, "README.md", "not json")
    write(tmp_path, "pending.json", {"kind": "automation", "at": {"clock": "pending", "offset_minutes": -5},
                                     "actions": [{"type": "set_status", "status": "solved"}]})
    write(tmp_path, "array.json", "[]")
    errors = check_rules(tmp_path)
    assert pointers(errors) == {
        ("dupe.json", "/actions/0/tags"),
        ("bad name.json", ""),
        ("mismatch.json", "/id"),
        ("nested/rule.json", ""),
        ("pending.json", "/at/offset_minutes"),
        ("array.json", ""),
    }
    assert "duplicate key 'tags'" in next(e["message"] for e in errors if e["file"] == "dupe.json")


def test_missing_directory(tmp_path: Path) -> None:
    [error] = check_rules(tmp_path / "nope")
    assert "not found" in error["message"]


def test_reference_errors(tmp_path: Path) -> None:
    write(tmp_path, "n.json", {**trigger(), "actions": [
        {"type": "notify", "target": "pager", "to": "manager", "template": "sla-warning"},
        {"type": "auto_reply", "template": "received"}]})
    rules = load_rules(tmp_path)
    errors = reference_errors(rules, notify_targets=["email"], templates=["received"])
    assert [(e["file"], e["pointer"]) for e in errors] == [("n.json", "/actions/0/target"),
                                                           ("n.json", "/actions/0/template")]
    assert reference_errors(rules) == []


def test_engine_imports_no_aws_or_chalice() -> None:
    code = (
        "import sys, chalicelib.engine, chalicelib.engine.loader, chalicelib.engine.evaluate\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'pynamodb', 'chalice'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib.engine.__main__ import main

    assert main([str(ROOT / "rules")]) == 0
    write(tmp_path, "bad.json", {"kind": "trigger"})
    assert main([str(tmp_path)]) == 1
    assert "bad.json /on: 'on' is required" in capsys.readouterr().out
    assert main(["--schema"]) == 0
    assert json.loads(capsys.readouterr().out) == RULE_SCHEMA
