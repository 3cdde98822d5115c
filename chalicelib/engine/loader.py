"""Read, check and compile a rules directory.

Layout: one rule per ``<id>.json`` directly in the directory (the file name is
the rule id: letters, digits, ``.``, ``_``, ``-``). ``calendars/`` and
``templates/`` and ``directory/`` (departments) are read by other modules and
skipped here; a ``.json`` file in any other sub-folder is an
error (it would otherwise be silently ignored).

- ``check_rules(directory, calendars=None) -> list[dict]``: every problem of
  every file at once, each ``{"file", "pointer", "message"}`` (``file``
  relative to the directory, ``pointer`` an RFC 6901 pointer into that file),
  sorted; empty when all is well.
- ``load_rules(directory, calendars=None) -> RuleSet``: the compiled rules,
  or ``RuleErrors`` carrying that same list.
- ``cached_rules(directory)``: ``load_rules`` once per process and directory.
- ``reference_errors(ruleset, notify_targets=..., templates=...)``: actions
  naming a notification target or template that is not installed.

Checks: invalid JSON or duplicate keys; the rule meta-schema
(``chalicelib.engine.schema.RULE_SCHEMA``); actions; each condition (a valid
JSON Schema, only known document fields, see ``chalicelib.engine.fields``);
the SLA calendar exists (``calendars/<id>.json`` when that folder exists, or
the ids passed as ``calendars``). Across files, duplicate positions among
enabled rules of kind ``sla`` or ``trigger`` are an *error* (their order
decides which SLA wins and in which order actions apply; automations are
independent and may share positions), and so is an SLA policy placed after
an enabled unconditional one (it could never be selected).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.engine.actions import action_problems
from chalicelib.engine.conditions import compile_condition, condition_problems
from chalicelib.engine.rules import AutomationRule, Rule, RuleSet, SlaRule, TriggerRule, freeze
from chalicelib.engine.schema import RULE_ID_PATTERN, RULE_SCHEMA
from chalicelib.errors import ConfigError, schema_error

SKIPPED_DIRS = ("calendars", "templates", "directory", "checks")  # read by .sla, .templates, .directory, .presend
_RULE_VALIDATOR = Draft202012Validator(RULE_SCHEMA)
_ID = Draft202012Validator({"type": "string", "pattern": RULE_ID_PATTERN})


class RuleErrors(ConfigError):
    """Rule files are invalid; ``errors`` lists every problem as {file, pointer, message}."""

    def __init__(self, errors: list[dict[str, Any]]):
        lines = [f"{e['file']} {e['pointer'] or '/'}: {e['message']}" for e in errors[:10]]
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} problem(s) in rule files:\n  " + "\n  ".join(lines) + more)
        self.errors = errors


def _error(file: str, path: list[str], message: str) -> dict[str, Any]:
    return {"file": file, "pointer": schema_error(path, message)["pointer"], "message": message}


def _read(path: Path, file: str) -> tuple[Any, list[dict[str, Any]]]:
    """Parse one JSON file; duplicate keys are errors (JSON would keep the last silently)."""
    dupes: dict[int, list[str]] = {}

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                dupes.setdefault(id(out), []).append(key)
            out[key] = value
        return out

    try:
        data = json.loads(path.read_bytes().decode("utf-8"), object_pairs_hook=pairs)
    except UnicodeDecodeError as exc:
        return None, [_error(file, [], f"not UTF-8: {exc}")]
    except json.JSONDecodeError as exc:
        return None, [_error(file, [], f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
    except OSError as exc:
        return None, [_error(file, [], f"cannot read: {exc}")]
    errors: list[dict[str, Any]] = []
    if dupes:
        def walk(node: Any, where: list[str]) -> None:
            if isinstance(node, dict):
                for key in dupes.get(id(node), []):
                    errors.append(_error(file, [*where, key], f"duplicate key '{key}'"))
                for key, value in node.items():
                    walk(value, [*where, key])
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    walk(value, [*where, str(i)])
        walk(data, [])
    return data, errors


def _schema_errors(file: str, data: Any, validator: Draft202012Validator = _RULE_VALIDATOR) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in validator.iter_errors(data):
        path = [str(p) for p in err.absolute_path]
        inst = err.instance
        if err.validator == "required" and isinstance(inst, dict):
            out += [_error(file, [*path, p], f"'{p}' is required") for p in err.validator_value if p not in inst]
        elif err.validator == "additionalProperties" and isinstance(inst, dict):
            allowed = list(err.schema.get("properties", {}))
            for key in inst:
                if key not in allowed:
                    out.append(_error(file, [*path, key], f"unknown property '{key}'; allowed: {', '.join(allowed)}"))
        elif err.validator in ("anyOf", "oneOf") and err.context:
            reasons = dict.fromkeys(sub.message for sub in err.context if not sub.relative_path)
            out.append(_error(file, path, f"{err.message}: " + "; or ".join(reasons)))
        else:
            out.append(_error(file, path, err.message))
    return out


def _check_file(file: str, rule_id: str, data: Any, calendars: set[str] | None) -> list[dict[str, Any]]:
    errors = []
    if not _ID.is_valid(rule_id):
        errors.append(_error(file, [], f"file name '{rule_id}' is not a valid rule id ({RULE_ID_PATTERN})"))
    errors += _schema_errors(file, data)
    if not isinstance(data, dict):
        return errors
    if isinstance(data.get("id"), str) and data["id"] != rule_id:
        errors.append(_error(file, ["id"], f"id '{data['id']}' differs from the file name '{rule_id}'"))
    kind = data.get("kind")
    if "condition" in data and kind in ("sla", "trigger", "automation"):
        errors += [_error(file, ["condition", *path], msg) for path, msg in condition_problems(data["condition"], kind)]
    if isinstance(data.get("actions"), list):
        for i, action in enumerate(data["actions"]):
            errors += [_error(file, ["actions", str(i)] + ([p] if p else []), msg)
                       for p, msg in action_problems(action)]
    if kind == "sla" and calendars is not None and isinstance(data.get("calendar"), str):
        if data["calendar"] not in calendars:
            known = ", ".join(sorted(calendars)) or "none"
            errors.append(_error(file, ["calendar"], f"unknown calendar '{data['calendar']}' (known: {known})"))
    return errors


def _build(file: str, rule_id: str, data: dict[str, Any]) -> Rule:
    common = {
        "id": rule_id, "kind": data["kind"], "position": data.get("position", 0), "file": file,
        "description": data.get("description", ""), "enabled": data.get("enabled", True),
        "condition": data.get("condition"), "matches": compile_condition(data.get("condition")),
    }
    if data["kind"] == "sla":
        return SlaRule(**common, calendar=data["calendar"], targets=data["targets"],
                       pause_statuses=tuple(data.get("pause_statuses", ["pending"])))
    if data["kind"] == "trigger":
        return TriggerRule(**common, on=tuple(data["on"]), actions=freeze(data["actions"]))
    return AutomationRule(**common, clock=data["at"]["clock"], offset_minutes=data["at"].get("offset_minutes", 0),
                          offset_business_minutes=data["at"].get("offset_business_minutes"),
                          actions=freeze(data["actions"]))


def _cross_errors(rules: list[Rule]) -> list[dict[str, Any]]:
    errors = []
    seen: dict[tuple[str, int], Rule] = {}
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if not rule.enabled or rule.kind == "automation":
            continue
        first = seen.setdefault((rule.kind, rule.position), rule)
        if first is not rule:
            errors.append(_error(rule.file, ["position"], f"position {rule.position} is also used by "
                                 f"{rule.kind} '{first.id}'; {rule.kind} positions must be unique"))
    slas = sorted((r for r in rules if r.enabled and r.kind == "sla"), key=lambda r: (r.position, r.id))
    default = next((r for r in slas if r.condition is None or r.condition is True or r.condition == {}), None)
    for rule in slas:
        if default is not None and (rule.position, rule.id) > (default.position, default.id):
            errors.append(_error(rule.file, ["position"], f"never selected: SLA '{default.id}' at position "
                                 f"{default.position} has no condition and matches every ticket first"))
    return errors


def _collect(directory: Path, calendars: Iterable[str] | None) -> tuple[list[Rule], list[dict[str, Any]]]:
    directory = Path(directory)
    if not directory.is_dir():
        return [], [_error(str(directory), [], "rules directory not found")]
    if calendars is None and (directory / "calendars").is_dir():
        calendars = [p.stem for p in (directory / "calendars").glob("*.json")]
    known_calendars = set(calendars) if calendars is not None else None
    rules: list[Rule] = []
    errors: list[dict[str, Any]] = []
    for path in sorted(directory.rglob("*.json")):
        rel = path.relative_to(directory)
        file = rel.as_posix()
        if len(rel.parts) > 1:
            if rel.parts[0] not in SKIPPED_DIRS:
                folders = ", ".join(d + "/" for d in SKIPPED_DIRS)
                errors.append(_error(file, [], "rule files belong directly in the rules directory "
                                     f"(the only sub-folders are {folders}, not read here)"))
            continue
        data, problems = _read(path, file)
        if data is not None or not problems:
            problems += _check_file(file, path.stem, data, known_calendars)
        errors += problems
        if not problems:
            rules.append(_build(file, path.stem, data))
    errors += _cross_errors(rules)
    return rules, errors


def _sorted(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique = {(e["file"], e["pointer"], e["message"]): e for e in errors}
    return [unique[k] for k in sorted(unique)]


def check_rules(directory: Path, calendars: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every problem in the rules directory as {file, pointer, message}; [] when fine."""
    return _sorted(_collect(directory, calendars)[1])


def load_rules(directory: Path, calendars: Iterable[str] | None = None) -> RuleSet:
    """The compiled rule set of ``directory``; raises ``RuleErrors`` listing all problems."""
    rules, errors = _collect(directory, calendars)
    if errors:
        raise RuleErrors(_sorted(errors))
    return RuleSet.of(rules)


@lru_cache(maxsize=8)
def _cached(directory: str) -> RuleSet:
    return load_rules(Path(directory))


def cached_rules(directory: Path) -> RuleSet:
    """``load_rules`` once per process per directory (conditions compile once)."""
    return _cached(str(Path(directory).resolve()))


def reference_errors(ruleset: RuleSet, notify_targets: Iterable[str] | None = None,
                     templates: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Actions naming a notification target or template not in the given sets (None: skip)."""
    errors = []
    for key, known, what in (("target", notify_targets, "notification target"), ("template", templates, "template")):
        if known is None:
            continue
        names = set(known)
        for rule, pointer, value in ruleset.action_refs(key):
            if value not in names:
                installed = ", ".join(sorted(names)) or "none"
                errors.append({"file": rule.file, "pointer": pointer,
                               "message": f"unknown {what} '{value}' (installed: {installed})"})
    return _sorted(errors)


def read_json_file(path: Path, file: str) -> tuple[Any, list[dict[str, Any]]]:
    """Parse a JSON file under the rules directory: ``(data, problems)``; invalid JSON, non-UTF-8
    and duplicate keys are problems ``{file, pointer, message}``."""
    return _read(path, file)


def schema_problems(file: str, data: Any, validator: Draft202012Validator) -> list[dict[str, Any]]:
    """Every ``validator`` error of ``data`` as ``{file, pointer, message}``, like rule files get
    (an unknown key or a missing one is pointed at itself)."""
    return _schema_errors(file, data, validator)
