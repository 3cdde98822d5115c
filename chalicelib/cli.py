"""Command line for rule authors.

    python -m chalicelib.cli check [RULES_DIR]
        Validate every rule, calendar and template; print each problem as
        ``file pointer: message``; exit 1 when there is any.
    python -m chalicelib.cli explain --ticket TICKET.json [--at ISO] [--event TYPE] [--rules DIR]
    python -m chalicelib.cli explain --id 1234 [--at ISO]   (reads the ticket from DynamoDB)
        Show which SLA applies, each deadline, which triggers match and which
        automations are due or scheduled, with their actions.
    python -m chalicelib.cli agent add ID --name NAME [--email E] [--role agent|supervisor|admin]
        Create or update an agent and print a new API token (shown once; stored hashed).
    python -m chalicelib.cli outbox list [--state failed|pending|sending|sent]
    python -m chalicelib.cli outbox redrive ID
        List notifications in the outbox; give a failed one a fresh set of attempts.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.engine import RuleErrors, check_rules, load_rules, reference_errors
from chalicelib.errors import schema_error
from chalicelib.plugin_manager import build_plugin_manager, notification_targets
from chalicelib.sla.calendar import CALENDAR_SCHEMA, load_calendar
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


def check_all(rules_dir: Path) -> list[dict[str, Any]]:
    """Every problem in a rules directory: rules, calendars, templates, and what rules refer to."""
    errors = check_rules(rules_dir) + check_calendars(rules_dir)
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
        targets = notification_targets(build_plugin_manager())
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


def _cmd_explain(args: argparse.Namespace) -> int:
    from chalicelib.services.explain import explain, fields_from_json
    from chalicelib.services.runtime import Runtime, load_calendars

    at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else datetime.now(timezone.utc)
    if at.tzinfo is None:
        raise SystemExit("--at needs a time zone, e.g. 2026-01-09T16:00:00+09:00")
    rules_dir = Path(args.rules)
    runtime = Runtime(rules_dir, load_rules(rules_dir), load_calendars(rules_dir))
    if args.ticket:
        doc = json.loads(Path(args.ticket).read_text(encoding="utf-8"))
        fields, customer = fields_from_json(doc), dict(doc.get("customer") or {})
        event = doc.get("event")
    else:
        from chalicelib.services.document import customer_fields
        from chalicelib.store import customers, tickets
        from chalicelib.store.changes import ticket_fields

        item = tickets.get_ticket(args.id)
        fields, customer = ticket_fields(item), customer_fields(customers.get_customer(item.customer_id))
        event = None
    if args.event:
        event = {**(event or {}), "type": args.event}
    report = explain(fields, customer, runtime, at, event)
    print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    return 0


def _cmd_agent_add(args: argparse.Namespace) -> int:
    from chalicelib.store import agents

    agents.upsert_agent(args.id, name=args.name, email=args.email, role=args.role, department=args.department)
    token = agents.issue_token(args.id, datetime.now(timezone.utc))
    print(json.dumps({"agent": args.id, "token": token}))
    return 0


def _cmd_outbox_list(args: argparse.Namespace) -> int:
    from chalicelib.store import outbox

    items, _cursor = outbox.list_state(args.state, limit=args.limit)
    for item in items:
        print(json.dumps(outbox.to_dict(item), ensure_ascii=False))
    return 0


def _cmd_outbox_redrive(args: argparse.Namespace) -> int:
    from chalicelib.errors import Conflict, NotFound
    from chalicelib.services import dispatch
    from chalicelib.store import outbox

    now = datetime.now(timezone.utc)
    try:
        dispatch.redrive(args.id, "cli", now)
    except (NotFound, Conflict) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    dispatch.deliver_now([args.id], now)
    print(json.dumps(outbox.to_dict(outbox.get(args.id)), ensure_ascii=False))
    return 0


def _add_outbox_commands(sub: Any) -> None:
    """``outbox list [--state S]`` and ``outbox redrive ID`` (the table from the environment)."""
    box = sub.add_parser("outbox", help="the notification outbox").add_subparsers(dest="outbox_command",
                                                                                   required=True)
    listing = box.add_parser("list", help="items in a state, newest first, one JSON line each")
    listing.add_argument("--state", default="failed", choices=["pending", "sending", "sent", "failed"])
    listing.add_argument("--limit", type=int, default=25)
    listing.set_defaults(func=_cmd_outbox_list)
    redrive = box.add_parser("redrive", help="give a failed notification a fresh set of attempts")
    redrive.add_argument("id")
    redrive.set_defaults(func=_cmd_outbox_redrive)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate rules, calendars and templates")
    check.add_argument("rules_dir", nargs="?", default="rules")
    check.set_defaults(func=_cmd_check)
    exp = sub.add_parser("explain", help="what the rules would do to a ticket at a time")
    src = exp.add_mutually_exclusive_group(required=True)
    src.add_argument("--ticket", help="ticket JSON file")
    src.add_argument("--id", type=int, help="stored ticket number")
    exp.add_argument("--at", help="ISO 8601 time with zone (default: now)")
    exp.add_argument("--event", help="event type for triggers, e.g. ticket_created")
    exp.add_argument("--rules", default="rules", help="rules directory (default: rules)")
    exp.set_defaults(func=_cmd_explain)
    agent = sub.add_parser("agent", help="manage agents").add_subparsers(dest="agent_command", required=True)
    add = agent.add_parser("add", help="create or update an agent and print a new token")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    add.add_argument("--email")
    add.add_argument("--role", default="agent", choices=["agent", "supervisor", "admin"])
    add.add_argument("--department")
    add.set_defaults(func=_cmd_agent_add)
    _add_outbox_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
