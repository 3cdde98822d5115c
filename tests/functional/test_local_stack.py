"""``python -m infra.local_stack`` end to end: start, post a form, list it, stop cleanly."""

from __future__ import annotations

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
from dataclasses import dataclass, field

import pytest
import requests

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]

READY_TIMEOUT_S = 60
TOKEN = "local-stack-test-token"
SECRET = "local-stack-test-secret"


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
                output = "\n".join(self.lines)
                pytest.fail(f"local stack exited (rc={self.proc.wait()}):\n{output}")
            self.lines.append(line)
            if predicate(line):
                return line
        pytest.fail(f"no matching output within {timeout_s} s:\n" + "\n".join(self.lines))


def start_stack(**env: str) -> Stack:
    """Launch the stack with a clean, fake AWS environment plus ``env``."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local_stack"], cwd=ROOT, env=full_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    return Stack(proc)


@pytest.fixture
def stack() -> Iterator[tuple[Stack, str, float]]:
    """A running stack on free ports; yields (stack, base URL, seconds to READY)."""
    port, moto_port = free_port(), free_port()
    started = time.monotonic()
    running = start_stack(PORT=str(port), MOTO_PORT=str(moto_port), LOCAL_AGENT_TOKEN=TOKEN,
                          FORM_WEBHOOK_SECRET=SECRET)
    running.moto_url = f"http://127.0.0.1:{moto_port}"
    try:
        ready = running.wait_for(lambda line: line.startswith("READY "), READY_TIMEOUT_S)
        yield running, ready.split(" ", 1)[1], time.monotonic() - started
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


def test_local_stack_serves_the_api_runs_schedules_and_stops_cleanly(stack):
    running, url, startup_s = stack
    print(f"local stack READY after {startup_s:.1f} s")
    assert url.startswith("http://127.0.0.1:")
    assert any(TOKEN in line for line in running.lines) and any(SECRET in line for line in running.lines)

    form = {"name": "山田 花子", "email": "hanako.yamada@example.jp", "subject": "クーポンが適用されません",
            "body": "注文番号 A-1001 でクーポンを入力しましたが割引されませんでした。"}
    posted = requests.post(f"{url}/webhooks/form", json=form, headers={"X-Form-Secret": SECRET}, timeout=30)
    assert posted.status_code in (200, 201), posted.text
    assert requests.post(f"{url}/webhooks/form", json=form, headers={"X-Form-Secret": "wrong"},
                         timeout=30).status_code == 401

    listed = requests.get(f"{url}/tickets", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert listed.status_code == 200, listed.text
    assert [t["subject"] for t in listed.json()["tickets"]] == [form["subject"]]
    assert requests.get(f"{url}/tickets", timeout=30).status_code == 401

    # The form customer's acknowledgement went out by mail, into moto's SES (nothing real is sent).
    number = posted.json()["results"][0]["ticket_id"]
    ticket = requests.get(f"{url}/tickets/{number}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
    assert [e["data"]["to"] for e in ticket["timeline"] if e["type"] == "message_out"] == [form["email"]]
    ses = requests.get(f"{running.moto_url}/moto-api/data.json", timeout=30).json()["ses"]
    assert form["email"] in json.dumps(ses), "the acknowledgement is in moto's SES store"

    # Concurrent requests are served (threaded server).
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(
        requests.get(f"{url}/tickets", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).status_code))
        for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [200] * 8

    # Every scheduled function of the app runs once shortly after start-up.
    from app import app
    from infra.scheduler import discover_schedules

    for job in discover_schedules(app):
        running.wait_for(lambda line, name=job.name: f"schedule {name} run #1 " in line, 30)
        assert any(f"schedule {job.name} run #1 ok" in line for line in running.lines), "\n".join(running.lines)
    if not discover_schedules(app):
        assert any("none: the app registers no scheduled functions" in line for line in running.lines)

    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(30) == 0
    running.wait_for(lambda line: line == "stopped", 5)


def test_local_stack_refuses_a_taken_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        running = start_stack(PORT=str(free_port()), MOTO_PORT=str(taken))
        try:
            assert running.proc.wait(60) == 2
        finally:
            if running.proc.poll() is None:
                running.proc.kill()
        line = running.wait_for(lambda text: "is taken" in text, 5)
    assert f"moto port 127.0.0.1:{taken} is taken" in line
    assert "MOTO_PORT" in line
