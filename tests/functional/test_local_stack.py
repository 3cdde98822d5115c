"""``python -m infra.local_stack`` end to end: start, post a form, list it, stop cleanly."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import ROOT
from tests.functional.stack_kit import SECRET, SECRETS, TOKEN, Stack, free_port, running_stack, start_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]


@pytest.fixture
def stack() -> Iterator[tuple[Stack, str, float]]:
    """A running stack on free ports; yields (stack, base URL, seconds to READY)."""
    started = time.monotonic()
    with running_stack() as running:
        yield running, running.url, time.monotonic() - started


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

    # The form customer's acknowledgement went out by mail, into moto's SES (nothing real is sent):
    # queued with the ticket, delivered by the dispatch schedule (moved on a minute here).
    number = posted.json()["results"][0]["ticket_id"]
    running.advance(1)
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

    # The banner's `cli agent add` line works against this stack, as a subprocess; the token it prints signs in.
    line = next(text.strip() for text in running.lines if "chalicelib.cli --local agent add" in text)
    added = subprocess.run(line.replace(".venv/bin/python", shlex.quote(sys.executable)), shell=True, cwd=ROOT,
                           capture_output=True, text=True, timeout=120, env={k: v for k, v in os.environ.items()
                                                                            if not k.startswith("AWS_")})
    assert added.returncode == 0, added.stderr
    alice = json.loads(added.stdout.strip().splitlines()[-1])["token"]
    assert requests.get(f"{url}/tickets", headers={"Authorization": f"Bearer {alice}"}, timeout=30).status_code == 200

    # Every channel secret is printed (given here, so they are the ones the test knows).
    for name, value in SECRETS.items():
        assert any(name in text and value in text for text in running.lines), name

    # A burst of 64 new connections at once: the listen backlog holds them, none is reset.
    def one(_: int) -> int:
        with requests.Session() as session:
            return session.get(f"{url}/tickets", headers=running.auth, timeout=60).status_code

    with ThreadPoolExecutor(64) as pool:
        assert list(pool.map(one, range(64))) == [200] * 64

    # SIGTERM ends everything within 5 s, cleanly.
    seconds = running.terminate(5.0)
    print(f"stopped {seconds:.2f} s after SIGTERM")
    assert running.proc.returncode == 0
    running.wait_for(lambda line: line == "stopped", 1)


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


def test_sigterm_under_load_ends_everything_within_5_s():
    """SIGTERM while 8 clients post forms: the stack, its stand-in process and both ports are gone in < 5 s."""
    with running_stack() as running:
        api_port, moto_port = int(running.url.rsplit(":", 1)[1]), int(running.moto_url.rsplit(":", 1)[1])
        children = _child_pids(running.proc.pid)
        assert children, "the stand-in runs as a child process"
        stop = threading.Event()
        errors: list[str] = []

        def client(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    requests.post(f"{running.url}/webhooks/form", headers=running.form_headers(), timeout=10, json={
                        "name": "Load", "email": f"load-{n}-{i}@example.com", "subject": f"s{n}-{i}", "body": "b"})
                except requests.RequestException as exc:
                    errors.append(repr(exc))  # expected once the server has gone

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        seconds = running.terminate(5.0)
        stop.set()
        print(f"stopped {seconds:.2f} s after SIGTERM under load")
        assert running.proc.returncode == 0
        for pid in children:
            deadline = time.monotonic() + 2
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _alive(pid), f"stand-in process {pid} outlived the stack"
        for port in (api_port, moto_port):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on {port}"
        for thread in threads:
            thread.join(15)


def _child_pids(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                found += [int(c) for c in children.read().split()]
        except FileNotFoundError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
