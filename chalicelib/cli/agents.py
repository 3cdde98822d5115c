"""``helpdesk agent add|token``: agents and their API tokens (token mode; tokens are stored hashed)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chalicelib import clock

ROLES = ["agent", "supervisor", "admin"]


def register(sub: Any) -> None:
    """``agent add ID --name NAME [--email E] [--role R] [--department D]``, ``agent token ID``,
    ``agent disable ID`` and ``agent enable ID``."""
    agent = sub.add_parser("agent", help="manage agents").add_subparsers(dest="agent_command", required=True)
    add = agent.add_parser("add", help="create or update an agent and print a new token (shown once)")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    add.add_argument("--email", help="also the Cognito claim the agent is found by in Cognito mode")
    add.add_argument("--role", default="agent", choices=ROLES)
    add.add_argument("--department")
    add.set_defaults(func=_cmd_agent_add)
    token = agent.add_parser("token", help="issue another token for an existing agent (shown once)")
    token.add_argument("id")
    token.set_defaults(func=_cmd_agent_token)
    for name, disabled in (("disable", True), ("enable", False)):
        cmd = agent.add_parser(name, help=f"{name} an agent (writes refuse a disabled agent at once; reads "
                                          "within the auth cache TTL)")
        cmd.add_argument("id")
        cmd.set_defaults(func=_cmd_agent_disable, disabled=disabled)


def _cmd_agent_add(args: argparse.Namespace) -> int:
    from chalicelib.store import agents

    agents.upsert_agent(args.id, name=args.name, email=args.email, role=args.role, department=args.department)
    token = agents.issue_token(args.id, clock.now())
    print(json.dumps({"agent": args.id, "token": token}))
    return 0


def _cmd_agent_token(args: argparse.Namespace) -> int:
    from chalicelib.store import agents

    if agents.get_agent(args.id) is None:
        print(f"no agent {args.id!r} (create it with `helpdesk agent add`)", file=sys.stderr)
        return 1
    print(json.dumps({"agent": args.id, "token": agents.issue_token(args.id, clock.now())}))
    return 0


def _cmd_agent_disable(args: argparse.Namespace) -> int:
    from chalicelib.store import agents

    if agents.set_disabled(args.id, args.disabled) is None:
        print(f"no agent {args.id!r}", file=sys.stderr)
        return 1
    print(json.dumps({"agent": args.id, "disabled": args.disabled}))
    return 0
