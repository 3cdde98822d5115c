"""``helpdesk import zendesk``: a Zendesk configuration -> rule and calendar files + a report.

    helpdesk import zendesk --sla sla_policies.json --triggers triggers.json \\
        --automations automations.json --schedules schedules.json --out rules-zendesk/

Writes the files under ``--out`` (a rules directory ``helpdesk check`` accepts),
prints every condition, action or setting that could not be carried over (or
only approximately) with the reason, and writes the same as JSON with
``--report``. No AWS needed. Exit 0, or 2 when an input file is unreadable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """``import zendesk``."""
    imp = sub.add_parser("import", help="import another help desk's rules").add_subparsers(
        dest="import_command", required=True)
    zd = imp.add_parser("zendesk", help="SLA policies, triggers, automations and schedules exported from Zendesk")
    for name in ("sla", "triggers", "automations", "schedules"):
        zd.add_argument(f"--{name}", help=f"the {name} export (JSON from the Zendesk API)")
    zd.add_argument("--out", required=True, help="directory to write the rule and calendar files into")
    zd.add_argument("--report", help="also write the report as JSON here")
    zd.add_argument("--country", help="add a country's public holidays to the calendars (e.g. JP)")
    zd.set_defaults(func=_cmd_zendesk, needs_aws=False)


def _load(path: str | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise SystemExit(f"helpdesk import: {path}: {exc}") from None


def _cmd_zendesk(args: argparse.Namespace) -> int:
    from chalicelib.importers.zendesk import import_all

    try:
        result = import_all(sla=_load(args.sla), triggers=_load(args.triggers),
                            automations=_load(args.automations), schedules=_load(args.schedules),
                            country=args.country)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    out = Path(args.out)
    for rel, doc in result.files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.report:
        Path(args.report).write_text(json.dumps(result.report(), ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")
    sys.stdout.write(result.text())
    return 0
