"""``helpdesk replay`` and ``helpdesk export``: rule changes you can see before you merge.

    helpdesk replay --rules rules/ --baseline-rules main --from 2026-11-01 --to 2026-11-30
    helpdesk export --from 2026-11-01 --to 2026-11-30 --redact > history.jsonl
    helpdesk replay --history history.jsonl --baseline-rules main --format markdown --fail-on new-breaches

Replay reads (a history file, or the stored history through the target flags)
and never sends or writes. Exit status: 0, or 1 when ``--fail-on`` matched, 2 on
bad input (the message says which).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def register(sub: Any) -> None:
    """``replay`` and ``export``."""
    rep = sub.add_parser("replay", help="replay history under changed rules and show what would differ")
    rep.add_argument("--rules", default="rules", help="the candidate rules directory (default: rules)")
    rep.add_argument("--baseline-rules", default="HEAD",
                     help="the rules to compare with: a directory or a git ref (default: HEAD)")
    rep.add_argument("--from", dest="first", required=True, help="first day (YYYY-MM-DD, report time zone) or time")
    rep.add_argument("--to", dest="last", required=True, help="last day (included) or end time")
    rep.add_argument("--history", help="an exported history file (JSON Lines); default: the stored history")
    rep.add_argument("--format", default="text", choices=["text", "json", "markdown"])
    rep.add_argument("--output", help="write the report here (default: stdout)")
    rep.add_argument("--fail-on", choices=["new-breaches", "any-difference"],
                     help="exit 1 when the candidate adds breaches / changes anything")
    rep.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes (default: 2)")
    rep.add_argument("--max-tickets", type=int, default=200, help="tickets listed in detail (default: 200)")
    rep.set_defaults(func=_cmd_replay, needs_aws=lambda args: args.history is None)
    exp = sub.add_parser("export", help="write the stored history of a range as JSON Lines (for replay in CI)")
    exp.add_argument("--from", dest="first", required=True)
    exp.add_argument("--to", dest="last", required=True)
    exp.add_argument("--output", help="file to write (default: stdout)")
    exp.add_argument("--redact", action="store_true",
                     help="replace names, addresses and texts with stable pseudonyms")
    exp.add_argument("--redact-key-file",
                     help="secret key for the pseudonyms (default: $HELPDESK_REDACT_KEY, else a new random key)")
    exp.set_defaults(func=_cmd_export)


@contextmanager
def _out(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as f:
        yield f


def _cmd_replay(args: argparse.Namespace) -> int:
    from chalicelib.replay import render, run
    from chalicelib.replay.history import HistoryError

    try:
        w = run.window(args.first, args.last)
        candidate = Path(args.rules)
        baseline, tmp = run.with_baseline(args.baseline_rules, candidate)
        with tmp:
            if args.history:
                with open(args.history, encoding="utf-8") as lines:
                    summary = run.replay(run.file_lines(lines), candidate, baseline, w, workers=args.workers,
                                         max_tickets=args.max_tickets)
            else:
                from chalicelib.replay.source import stored_history

                summary = run.replay(stored_history(w.start, w.end), candidate, baseline, w, workers=args.workers,
                                     max_tickets=args.max_tickets)
    except (run.ReplayError, HistoryError, OSError) as exc:
        print(f"helpdesk replay: {exc}", file=sys.stderr)
        return 2
    meta = {"from": args.first, "to": args.last, "rules": str(candidate), "baseline": args.baseline_rules,
            "history": args.history or "stored", "start": w.start.isoformat(), "end": w.end.isoformat()}
    with _out(args.output) as out:
        out.write(render.FORMATS[args.format](summary, meta))
    if summary.failed:
        for problem in summary.failed[:20]:
            print(f"helpdesk replay: not replayed: {problem}", file=sys.stderr)
        print(f"helpdesk replay: {len(summary.failed)} ticket(s) could not be replayed", file=sys.stderr)
        return 2
    if args.fail_on == "new-breaches" and summary.new_breaches:
        print(f"helpdesk replay: {summary.new_breaches} new breach(es)", file=sys.stderr)
        return 1
    if args.fail_on == "any-difference" and summary.differing:
        print(f"helpdesk replay: {summary.differing} ticket(s) differ", file=sys.stderr)
        return 1
    return 0


def _redact_key(args: argparse.Namespace) -> bytes:
    if args.redact_key_file:
        return Path(args.redact_key_file).read_bytes().strip()
    if os.environ.get("HELPDESK_REDACT_KEY"):
        return os.environ["HELPDESK_REDACT_KEY"].encode()
    print("helpdesk export: no --redact-key-file or HELPDESK_REDACT_KEY: pseudonyms are stable within this "
          "export only", file=sys.stderr)
    return secrets.token_bytes(32)


def _cmd_export(args: argparse.Namespace) -> int:
    from chalicelib.replay import history, run
    from chalicelib.replay.redact import Redactor
    from chalicelib.replay.source import stored_history

    try:
        w = run.window(args.first, args.last)
    except run.ReplayError as exc:
        print(f"helpdesk export: {exc}", file=sys.stderr)
        return 2
    tickets = stored_history(w.start, w.end)
    if args.redact:
        redactor = Redactor(_redact_key(args))
        tickets = (redactor.ticket(t) for t in tickets)
    head = history.header(**{"from": args.first, "to": args.last, "start": w.start.isoformat(),
                             "end": w.end.isoformat(), "redacted": bool(args.redact)})
    with _out(args.output) as out:
        count = history.write_lines(out, head, tickets)
    print(f"exported {count} ticket(s)", file=sys.stderr)
    return 0
