"""Start the real local stack (``python -m infra.local_stack``, what ``make run`` runs) as a subprocess.

For tests that must go through the running stack (concurrency, races, the movable clock, signals):

    with running_stack(CLOCK="2026-01-09T16:00+09:00") as stack:
        requests.post(f"{stack.url}/webhooks/form", headers=stack.form_headers(), json=...)
        stack.advance(90)                         # move the clock, run the due schedules
        stack.sent_mail()                         # what moto's SES "sent"

Each stack gets free ports, a fixed agent token and fixed channel secrets, and is killed on exit.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.conftest import ROOT

READY_TIMEOUT_S = 90
TOKEN = "local-stack-test-token"
SECRET = "local-stack-test-secret"
SECRETS = {"FORM_WEBHOOK_SECRET": SECRET, "EMAIL_WEBHOOK_SECRET": "local-email-secret",
           "CHAT_WEBHOOK_SECRET": "local-chat-secret", "SLACK_SIGNING_SECRET": "local-slack-secret",
           "LINE_CHANNEL_SECRET": "local-line-secret"}


def free_port() -> int:
    """A port nothing listens on right now (bound to 127.0.0.1:0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """A running local stack subprocess and its output, read line by line in a thread."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)
    moto_url: str = ""
    url: str = ""
    token: str = TOKEN

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout_s: float) -> str:
        """The first output line (already seen or new) matching ``predicate``; fails on timeout or exit."""
        for line in self.lines:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                output = "\n".join(self.lines[-200:])
                pytest.fail(f"local stack exited (rc={self.proc.wait()}):\n{output}")
            self.lines.append(line)
            if predicate(line):
                return line
        pytest.fail(f"no matching output within {timeout_s} s:\n" + "\n".join(self.lines[-200:]))

    def drain(self) -> None:
        """Move output read so far into ``lines``."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.lines.append(line)

    @property
    def auth(self) -> dict[str, str]:
        """The admin agent's Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    def form_headers(self) -> dict[str, str]:
        """Headers of a verified web-form delivery."""
        return {"X-Form-Secret": SECRET}

    def advance(self, minutes: float, step_minutes: float | None = None) -> dict[str, Any]:
        """Move the stack's clock forward and run the due schedules (``POST /_local/clock``)."""
        body: dict[str, Any] = {"advance_minutes": minutes}
        if step_minutes:
            body["step_minutes"] = step_minutes
        resp = requests.post(f"{self.url}/_local/clock", json=body, headers=self.auth, timeout=300)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def now(self) -> str:
        """The stack's clock (ISO)."""
        return requests.get(f"{self.url}/_local/clock", headers=self.auth, timeout=30).json()["now"]

    def sent_mail(self) -> list[dict[str, Any]]:
        """Every mail moto's SES accepted, decoded: ``to``, ``subject``, ``body``, ``auto`` (Auto-Submitted)."""
        ses = requests.get(f"{self.moto_url}/moto-api/data.json", timeout=60).json().get("ses", {})
        mails = []
        for entry in ses.get("RawMessage", []):
            msg = email.message_from_string(entry["raw_data"], policy=email.policy.default)
            part = msg.get_body(("plain",)) if msg.is_multipart() else msg
            mails.append({"id": entry.get("id"), "to": sorted(set(entry.get("destinations") or [])),
                          "subject": str(msg.get("Subject", "")), "body": part.get_content() if part else "",
                          "auto": msg.get("Auto-Submitted", "no") != "no"})
        for entry in ses.get("Message", []):
            body = entry.get("body") or {}
            text = body.get("text") if isinstance(body, dict) else str(body)
            dest = entry.get("destinations") or {}
            to = [*dest.get("ToAddresses", [])] if isinstance(dest, dict) else list(dest)
            mails.append({"id": entry.get("id"), "to": sorted(set(to)), "subject": str(entry.get("subject", "")),
                          "body": text or "", "auto": False})
        return mails

    def rss_mb(self) -> float:
        """Resident memory of the stack: its process and its children (the stand-in), MB (Linux /proc)."""
        return sum(_rss_kb(pid) for pid in [self.proc.pid, *_children(self.proc.pid)]) / 1024

    def terminate(self, timeout_s: float = 5.0) -> float:
        """SIGTERM; seconds until the process ended (fails the test past ``timeout_s``)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the stack was still running {timeout_s} s after SIGTERM")
        return time.monotonic() - started


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                found += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):  # the thread just ended
            continue
    return found + [grandchild for child in found for grandchild in _children(child)]


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
    except FileNotFoundError:
        return 0


def start_stack(**env: str) -> Stack:
    """Launch the stack with a clean, fake AWS environment plus ``env``."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    full_env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local_stack"], cwd=ROOT, env=full_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    return Stack(proc)


@contextmanager
def running_stack(**env: str) -> Iterator[Stack]:
    """A READY stack on free ports with the fixed token and secrets (``env`` overrides); killed on exit."""
    port, moto_port = free_port(), free_port()
    stack = start_stack(**{"PORT": str(port), "MOTO_PORT": str(moto_port), "LOCAL_AGENT_TOKEN": TOKEN,
                           **SECRETS, **env})
    stack.moto_url = f"http://127.0.0.1:{moto_port}"
    try:
        ready = stack.wait_for(lambda line: line.startswith("READY "), READY_TIMEOUT_S)
        stack.url = ready.split(" ", 1)[1]
        yield stack
    finally:
        if stack.proc.poll() is None:
            stack.proc.kill()
            stack.proc.wait(10)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse JSON-lines output."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


_ADD_AGENTS = """
import json, os, sys
from chalicelib.cli.target import local_environment
local_environment(os.environ)
from chalicelib import clock
from chalicelib.store import agents
role = sys.argv[1]
tokens = {}
for agent_id in sys.argv[2:]:
    agents.upsert_agent(agent_id, name=agent_id, email=f"{agent_id}@example.com", role=role)
    tokens[agent_id] = agents.issue_token(agent_id, clock.now())
print(json.dumps(tokens))
"""


def add_agents(stack: Stack, ids: list[str], role: str = "agent") -> dict[str, str]:
    """Create agents in the running stack (one subprocess, ``cli --local``'s target); their tokens."""
    port = stack.moto_url.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([sys.executable, "-c", _ADD_AGENTS, role, *ids], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**env, "MOTO_PORT": port})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
