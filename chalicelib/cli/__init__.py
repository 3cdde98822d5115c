"""The ``helpdesk`` command (also ``python -m chalicelib.cli``): rule checks, explain, agents, outbox.

Each subcommand lives in its own module with a ``register(subparsers)``
function adding its parser and ``set_defaults(func=...)``; ``COMMAND_MODULES``
lists the built-in ones, and installed packages may add more through the
``helpdesk.cli`` entry-point group (same ``register`` contract). A command
that reads or writes the table runs against the target chosen by the global
flags (``--local`` for ``make run``, ``--stage``/``--stack`` for a deployed
stack); one that needs no AWS says so with ``set_defaults(needs_aws=False)``
(or a function of the parsed arguments).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata
from typing import Any

from chalicelib.cli import target
from chalicelib.cli.check import check_all, check_calendars, inline_template_errors

__all__ = ["COMMAND_MODULES", "build_parser", "check_all", "check_calendars", "inline_template_errors", "main"]

COMMAND_MODULES = (
    "chalicelib.cli.check",
    "chalicelib.cli.explain",
    "chalicelib.cli.agents",
    "chalicelib.cli.outbox",
    "chalicelib.cli.plugins",
    "chalicelib.cli.dlq",
    "chalicelib.cli.replay",
    "chalicelib.cli.importer",
)
ENTRY_POINT_GROUP = "helpdesk.cli"
DESCRIPTION = "Help-desk rules service: check rules, explain a ticket, manage agents and the outbox."

EPILOG = """targets: without a flag the environment is used as it is (HELPDESK_TABLE, AWS_*);
--local talks to `make run`; --stage prod reads the stack helpdesk-prod's outputs with your credentials."""


def _registrars() -> list[Any]:
    found = [importlib.import_module(name).register for name in COMMAND_MODULES]
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()
        found.append(getattr(loaded, "register", loaded))
    return found


def build_parser(prog: str = "helpdesk") -> argparse.ArgumentParser:
    """The parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG)
    target.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(sub)
    return parser


def _needs_aws(args: argparse.Namespace) -> bool:
    needs = getattr(args, "needs_aws", True)
    return bool(needs(args) if callable(needs) else needs)


def main(argv: list[str] | None = None, prog: str = "helpdesk") -> int:
    """Entry point; returns the exit status."""
    args = build_parser(prog).parse_args(argv)
    if _needs_aws(args):
        try:
            target.apply(args)
        except target.TargetError as exc:
            print(f"helpdesk: {exc}", file=sys.stderr)
            return 2
    return int(args.func(args))


def run() -> None:
    """Console-script entry point (``helpdesk``)."""
    sys.exit(main())
