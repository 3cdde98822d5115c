"""The local stack's movable clock: start time, speed, and a route (and CLI) to jump ahead.

Only ``make run`` installs it (``chalicelib.clock.install_local_clock``); a
deployed stack has neither the environment variables' effect nor the route.

- ``CLOCK=2026-01-09T16:00+09:00``: the stack starts at that time (default: now).
- ``CLOCK_SPEED=60``: simulated seconds per real second (default 1).
- ``GET  /_local/clock``: ``{"now", "speed", "next_runs"}``.
- ``POST /_local/clock`` with ``{"advance_minutes": N}`` (optional
  ``"step_minutes": S``: jump in steps of S minutes, running the due schedules
  after each step; and/or ``"speed": X``): moves the clock forward and runs every
  schedule that came due, before answering ``{"now", "ran": [...]}``.
  Both need ``Authorization: Bearer <agent token>`` (the banner prints it).
- CLI: ``python -m infra.local_clock advance 90 [--step 15] [--url URL] [--token T]``
  (``URL``/``TOKEN`` default to ``$HELPDESK_URL``/``$LOCAL_AGENT_TOKEN``).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import sys
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from chalicelib import clock
from infra.scheduler import ScheduleRunner

ROUTE = "/_local/clock"
MAX_STEPS = 20_000


class ClockRoute:
    """``GET``/``POST /_local/clock`` for ``infra.http_server.APIServer``'s local routes."""

    def __init__(self, movable: clock.MovableClock, runner: ScheduleRunner, token: str) -> None:
        self.clock, self.runner, self.token = movable, runner, token
        self._lock = threading.Lock()  # one jump at a time

    def state(self) -> dict[str, Any]:
        """What GET answers."""
        return {"now": self.clock.now().isoformat(), "speed": self.clock.speed, "next_runs": self.runner.next_runs()}

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not hmac.compare_digest(auth.encode(), f"Bearer {self.token}".encode()):
            return 401, {"error": "Unauthorized", "message": "send Authorization: Bearer <the local agent token>"}
        if method == "GET":
            return 200, self.state()
        if method != "POST":
            return 405, {"error": "MethodNotAllowed", "message": "GET or POST"}
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": "BadRequest", "message": "body must be JSON", "pointer": ""}
        if not isinstance(doc, dict):
            return 400, {"error": "BadRequest", "message": "body must be a JSON object", "pointer": ""}
        minutes, step, speed = doc.get("advance_minutes", 0), doc.get("step_minutes"), doc.get("speed")
        for name, value, low in (("advance_minutes", minutes, 0), ("step_minutes", step, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < low
                                      or value > 10 * 366 * 24 * 60):
                return 400, {"error": "BadRequest", "message": f"{name} must be a number >= {low} (minutes)",
                             "pointer": f"/{name}"}
        if step and minutes / step > MAX_STEPS:
            return 400, {"error": "BadRequest", "message": f"at most {MAX_STEPS} steps", "pointer": "/step_minutes"}
        with self._lock:
            if speed is not None:
                try:
                    self.clock.set_speed(speed)
                except ValueError as exc:
                    return 400, {"error": "BadRequest", "message": str(exc), "pointer": "/speed"}
            ran = self.advance(timedelta(minutes=minutes), timedelta(minutes=step) if step else None)
        return 200, {**self.state(), "ran": ran}

    def advance(self, total: timedelta, step: timedelta | None = None) -> list[dict[str, Any]]:
        """Jump ``total`` ahead (in ``step``s), running the due schedules after each jump."""
        ran: list[dict[str, Any]] = []
        left = total
        while True:
            jump = min(step, left) if step else left
            self.clock.advance(jump)
            left -= jump
            ran.extend(self.runner.run_due())
            if left <= timedelta(0):
                return ran


def _request(url: str, token: str, body: dict[str, Any] | None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url.rstrip('/')}{ROUTE}", data=data, method="GET" if body is None else "POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{exc.code}: {exc.read().decode(errors='replace')}") from None
    except urllib.error.URLError as exc:
        raise SystemExit(f"cannot reach the local stack at {url}: {exc.reason}") from None


def main(argv: list[str] | None = None) -> int:
    """``show`` or ``advance MINUTES [--step S]`` against a running ``make run``."""
    parser = argparse.ArgumentParser(prog="python -m infra.local_clock", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("HELPDESK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("LOCAL_AGENT_TOKEN"))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="the stack's current time and next schedule runs")
    adv = sub.add_parser("advance", help="move the clock forward and run the schedules that came due")
    adv.add_argument("minutes", type=float)
    adv.add_argument("--step", type=float, help="jump in steps of this many minutes")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or LOCAL_AGENT_TOKEN) is required: the agent token the banner prints")
    body = None if args.command == "show" else {"advance_minutes": args.minutes,
                                                **({"step_minutes": args.step} if args.step else {})}
    print(json.dumps(_request(args.url, args.token, body), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
