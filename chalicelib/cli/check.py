"""``helpdesk check [RULES_DIR]``: validate every file under the rules directory.

Rules (meta-schema, conditions, references), calendars, templates (rendered with every
variable), the department directory (``directory/departments.json``: JSON Schema with no
unknown keys, ids, calendars, contact methods), the pre-send checks (``checks/presend.json``),
and any other file: one the service would never read is an error, not silently ignored.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.directory import FILE as DIRECTORY_FILE
from chalicelib.directory import check_directory
from chalicelib.engine import RuleErrors, check_rules, load_rules, reference_errors
from chalicelib.errors import schema_error
from chalicelib.plugin_manager import build_plugin_manager, notification_targets
from chalicelib.presend import PRESEND_FILE, check_config
from chalicelib.sla.calendar_doc import CALENDAR_SCHEMA, load_calendar
from chalicelib.templates import check_template, check_text

_CALENDAR = Draft202012Validator(CALENDAR_SCHEMA)


def _file_errors(rel: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"file": rel, "pointer": p["pointer"], "message": p["message"]} for p in problems]


def check_calendars(rules_dir: Path) -> list[dict[str, Any]]:
    """Schema and semantic problems of every calendar file."""
    errors: list[dict[str, Any]] = []
    for path in sorted((rules_dir / "calendars").glob("*.json")):
        rel = str(path.relative_to(rules_dir))
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            errors.append({"file": rel, "pointer": "", "message": f"invalid JSON: {exc}"})
            continue
        found = [schema_error([str(p) for p in e.absolute_path], e.message) for e in _CALENDAR.iter_errors(doc)]
        errors += _file_errors(rel, found)
        if not found:
            try:
                cal = load_calendar(doc)
                if cal.id != path.stem:
                    errors.append({"file": rel, "pointer": "/id", "message": f"id {cal.id!r} must equal the file name"})
            except ValueError as exc:
                errors.append({"file": rel, "pointer": "", "message": str(exc)})
    return errors


def stray_files(rules_dir: Path) -> list[dict[str, Any]]:
    """Files under the rules directory that nothing reads (a ``.bak``, a typo'd extension, a
    file in an unknown folder): each is an error, so an edit never silently does nothing."""
    errors = []
    for path in sorted(p for p in rules_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(rules_dir).as_posix()
        parts = rel.split("/")
        read = (
            (len(parts) == 1 and rel.endswith(".json"))  # rules (check_rules reports the rest)
            or (parts[0] in ("calendars", "templates") and len(parts) == 2 and rel.endswith(".json"))
            or rel in (DIRECTORY_FILE, PRESEND_FILE)
            or (len(parts) > 1 and parts[0] not in ("calendars", "templates", "directory", "checks"))
        )
        if not read:
            errors.append({"file": rel, "pointer": "", "message": "not read by the service (rules are <id>.json "
                           "here; calendars/<id>.json, templates/<name>.json, directory/departments.json, "
                           "checks/presend.json)"})
    return errors


def check_all(rules_dir: Path) -> list[dict[str, Any]]:
    """Every problem in a rules directory: rules, calendars, templates, the directory, pre-send
    checks, stray files, and what rules refer to."""
    calendar_ids = [p.stem for p in (rules_dir / "calendars").glob("*.json")]
    targets = notification_targets(build_plugin_manager())
    errors = check_rules(rules_dir) + check_calendars(rules_dir) + stray_files(rules_dir)
    errors += check_directory(rules_dir, calendar_ids, targets) + check_config(rules_dir)
    template_dir = rules_dir / "templates"
    names = sorted(p.stem for p in template_dir.glob("*.json"))
    for name in names:
        errors += [{"file": f"templates/{name}.json", "pointer": "", "message": m}
                   for m in check_template(template_dir, name)]
    if not any(e["file"].endswith(".json") and "/" not in e["file"] for e in errors):
        try:
            ruleset = load_rules(rules_dir)
        except RuleErrors as exc:
            return errors + exc.errors
        errors += reference_errors(ruleset, notify_targets=targets, templates=names)
        errors += inline_template_errors(ruleset)
    return sorted(errors, key=lambda e: (e["file"], e["pointer"]))


def inline_template_errors(ruleset: Any) -> list[dict[str, Any]]:
    """Inline ``subject``/``body`` of notify actions that do not render (e.g. an unknown variable)."""
    errors = []
    for rule in ruleset.all_rules():
        for i, action in enumerate(getattr(rule, "actions", ())):
            if action.get("type") != "notify":
                continue
            for key in ("subject", "body"):
                problem = check_text(str(action[key])) if key in action else None
                if problem:
                    errors.append({"file": rule.file, "pointer": f"/actions/{i}/{key}", "message": problem})
    return errors


def _cmd_check(args: argparse.Namespace) -> int:
    rules_dir = Path(args.rules_dir)
    errors = check_all(rules_dir)
    for e in errors:
        print(f"{e['file']} {e['pointer'] or '/'}: {e['message']}")
    print(f"{len(errors)} problem(s) in {rules_dir}" if errors else f"{rules_dir}: OK", file=sys.stderr)
    return 1 if errors else 0


def register(sub: Any) -> None:
    """``check [RULES_DIR]``: print each problem as ``file pointer: message``; exit 1 when there is any."""
    check = sub.add_parser("check", help="validate rules, calendars and templates (no AWS needed)")
    check.add_argument("rules_dir", nargs="?", default="rules")
    check.set_defaults(func=_cmd_check, needs_aws=False)
