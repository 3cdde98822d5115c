"""``helpdesk explain``: what the rules would do to a ticket at a time (from a file or the table)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib import clock
from chalicelib.engine import load_rules


def register(sub: Any) -> None:
    """``explain --ticket FILE | --id N [--at ISO] [--event TYPE] [--rules DIR]``."""
    exp = sub.add_parser("explain", help="what the rules would do to a ticket at a time")
    src = exp.add_mutually_exclusive_group(required=True)
    src.add_argument("--ticket", help="ticket JSON file (no AWS needed)")
    src.add_argument("--id", type=int, help="stored ticket number (read from the stack's table)")
    exp.add_argument("--at", help="ISO 8601 time with zone (default: now)")
    exp.add_argument("--event", help="event type for triggers, e.g. ticket_created")
    exp.add_argument("--rules", default="rules", help="rules directory (default: rules)")
    exp.set_defaults(func=_cmd_explain, needs_aws=lambda args: args.id is not None)


def _cmd_explain(args: argparse.Namespace) -> int:
    from chalicelib.services.explain import explain, fields_from_json
    from chalicelib.services.runtime import Runtime, load_calendars

    at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else clock.now()
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
