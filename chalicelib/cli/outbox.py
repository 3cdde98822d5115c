"""``helpdesk outbox list|redrive``: the notification outbox."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chalicelib import clock


def register(sub: Any) -> None:
    """``outbox list [--state S] [--limit N]`` and ``outbox redrive ID``."""
    box = sub.add_parser("outbox", help="the notification outbox").add_subparsers(dest="outbox_command",
                                                                                   required=True)
    listing = box.add_parser("list", help="items in a state, newest first, one JSON line each")
    listing.add_argument("--state", default="failed", choices=["pending", "sending", "sent", "failed"])
    listing.add_argument("--limit", type=int, default=25)
    listing.set_defaults(func=_cmd_outbox_list)
    redrive = box.add_parser("redrive", help="give a failed notification a fresh set of attempts")
    redrive.add_argument("id")
    redrive.set_defaults(func=_cmd_outbox_redrive)


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

    now = clock.now()
    try:
        dispatch.redrive(args.id, "cli", now)
    except (NotFound, Conflict) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    dispatch.deliver_now([args.id], now)
    print(json.dumps(outbox.to_dict(outbox.get(args.id)), ensure_ascii=False))
    return 0
