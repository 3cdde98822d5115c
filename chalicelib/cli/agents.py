"""``helpdesk agent list|add|update|disable|enable|rotate|token|audit``: the agents page for a shell.

Runs against the chosen target (``--local``, ``--stage``, or the environment);
every change goes through ``services.agent_admin`` like the API and is audited
with the actor ``cli``. Each command prints one JSON document; tokens are
printed once and stored hashed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chalicelib import clock

ROLES = ["agent", "supervisor", "admin"]


def _actor() -> Any:
    """The operator at the shell: acts as an admin, audited as ``cli``."""
    from chalicelib.store.models import AgentItem

    return AgentItem("AGENT#cli", "AGENT", agent_id="cli", name="cli", role="admin")


def _print(doc: Any) -> int:
    print(json.dumps(doc, ensure_ascii=False, default=str))
    return 0


def _run(fn: Any) -> int:
    from chalicelib.errors import HelpdeskError, ValidationFailed

    try:
        return fn()
    except ValidationFailed as exc:
        print(json.dumps({"error": "ValidationFailed", "errors": exc.errors}, ensure_ascii=False), file=sys.stderr)
    except HelpdeskError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}, ensure_ascii=False), file=sys.stderr)
    return 1


def _profile(args: argparse.Namespace) -> dict[str, Any]:
    fields = {"name": args.name, "email": args.email, "role": args.role, "department": args.department,
              "phone": args.phone, "slack_channel": args.slack_channel, "lang": args.lang}
    return {k: (None if v == "" else v) for k, v in fields.items() if v is not None}


def _validated(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    from jsonschema import Draft202012Validator

    from chalicelib.errors import ValidationFailed

    errors = list(Draft202012Validator(schema).iter_errors(doc))
    if errors:
        raise ValidationFailed.from_schema_errors(errors)
    return doc


def _cmd_list(_args: argparse.Namespace) -> int:
    from chalicelib.store import agents

    return _print({"agents": [agents.agent_to_dict(a) for a in agents.list_agents()]})


def _cmd_add(args: argparse.Namespace) -> int:
    from chalicelib.services import agent_admin
    from chalicelib.store import agents

    def go() -> int:
        body = _validated(agent_admin.ADD_SCHEMA, {"id": args.id, **_profile(args)})
        agent, token = agent_admin.add(_actor(), body, clock.now())
        return _print({"agent": agent.agent_id, "token": token, "profile": agents.agent_to_dict(agent)})

    return _run(go)


def _update(agent_id: str, change: dict[str, Any]) -> int:
    from chalicelib.services import agent_admin
    from chalicelib.store import agents

    def go() -> int:
        body = _validated(agent_admin.UPDATE_SCHEMA, change)
        changed = agent_admin.update(_actor(), agent_id, body, clock.now())
        return _print({"agent": agent_id, **agents.agent_to_dict(changed)})

    return _run(go)


def _cmd_rotate(args: argparse.Namespace) -> int:
    from chalicelib.services import agent_admin

    return _run(lambda: _print({"agent": args.id,
                                "token": agent_admin.rotate(_actor(), args.id, clock.now())}))


def _cmd_audit(args: argparse.Namespace) -> int:
    from chalicelib.store import audit

    return _print({"events": audit.recent(args.limit, f"agent:{args.id}" if args.id else None)})


def _profile_options(p: argparse.ArgumentParser, *, name_required: bool) -> None:
    p.add_argument("--name", required=name_required)
    p.add_argument("--email")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--department")
    p.add_argument("--phone", help="E.164, e.g. +819012345678 (SMS notifications); '' clears")
    p.add_argument("--slack-channel", dest="slack_channel", help="e.g. #cs-sato; '' clears")
    p.add_argument("--lang", choices=["ja", "en"])


def _cmd_token(args: argparse.Namespace) -> int:
    from chalicelib.store import agents

    if agents.get_agent(args.id) is None:
        print(f"no agent {args.id!r} (create it with `helpdesk agent add`)", file=sys.stderr)
        return 1
    return _print({"agent": args.id, "token": agents.issue_token(args.id, clock.now())})


def register(sub: Any) -> None:
    """Register ``agent list|add|update|disable|enable|rotate|token|audit``."""
    agent = sub.add_parser("agent", help="manage agents").add_subparsers(dest="agent_command", required=True)
    agent.add_parser("list", help="every agent").set_defaults(func=_cmd_list)
    add = agent.add_parser("add", help="create an agent and print its first token (shown once)")
    add.add_argument("id")
    _profile_options(add, name_required=True)
    add.set_defaults(func=_cmd_add)
    upd = agent.add_parser("update", help="change name, email, role, department, phone, Slack channel, language")
    upd.add_argument("id")
    _profile_options(upd, name_required=False)
    upd.set_defaults(func=lambda a: _update(a.id, _profile(a)))
    for name, value in (("disable", True), ("enable", False)):
        p = agent.add_parser(name, help=f"{name} the agent (a disabled agent's tokens stop working)")
        p.add_argument("id")
        p.set_defaults(func=lambda a, v=value: _update(a.id, {"disabled": v}))
    tok = agent.add_parser("token", help="issue another token for an existing agent (shown once)")
    tok.add_argument("id")
    tok.set_defaults(func=_cmd_token)
    rot = agent.add_parser("rotate", help="a new token (printed once); the old ones stop working")
    rot.add_argument("id")
    rot.set_defaults(func=_cmd_rotate)
    aud = agent.add_parser("audit", help="the admin timeline, newest first")
    aud.add_argument("id", nargs="?")
    aud.add_argument("--limit", type=int, default=50)
    aud.set_defaults(func=_cmd_audit)
