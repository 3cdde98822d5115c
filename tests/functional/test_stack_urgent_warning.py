"""An urgent ticket on the running local stack (``make run``) with the movable clock: its warning
cannot wait 60 business minutes (the target is 30), so it goes out at once, once, with the true
time left and the deadline in JST; the breach follows at its minute; every link opens the
console's ticket page on this stack (``make run`` sets ``HELPDESK_PUBLIC_BASE_URL``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from tests.functional.stack_kit import Stack, add_agents, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]

START = "2026-01-13T10:00+09:00"  # a Tuesday, the Tokyo office is open
ASSIGNEE = "sato@example.com"
MANAGER = "kato.manager@example.com"


def _advance_to(stack: Stack, local_time: str) -> None:
    target = datetime.fromisoformat(local_time)
    now = datetime.fromisoformat(stack.now())
    assert target > now, (target, now)
    stack.advance((target - now) / timedelta(minutes=1), step_minutes=1)


def test_urgent_ticket_is_warned_at_once_then_breached_at_its_minute_with_local_times_and_console_links():
    with running_stack(CLOCK=START) as stack:
        add_agents(stack, ["sato"])
        resp = requests.post(f"{stack.url}/webhooks/form", headers=stack.form_headers(), timeout=60, json={
            "name": "山田 花子", "email": "hanako@example.jp", "subject": "至急: ログインできません",
            "body": "管理画面にログインできません。"})
        assert resp.status_code == 201, resp.text
        number = resp.json()["results"][0]["ticket_id"]
        patched = requests.patch(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60,
                                 json={"priority": "urgent", "assignee": "sato"})
        assert patched.status_code == 200, patched.text
        first = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()
        first = first["sla"]["metrics"]["first_reply"]
        due_local = first["due_local"]  # 30 business minutes after the inquiry, e.g. "2026-01-13 10:30 JST"
        assert due_local.startswith("2026-01-13 10:3") and due_local.endswith(" JST"), first
        due = datetime.fromisoformat(first["due_at"].replace("Z", "+00:00"))

        stack.advance(2, step_minutes=1)  # the next sweeps
        warnings = [m for m in stack.sent_mail() if m["to"] == [ASSIGNEE] and "期限が迫っています" in m["subject"]]
        assert len(warnings) == 1, [m["subject"] for m in stack.sent_mail()]
        (warning,) = warnings
        assert "残り2" in warning["subject"] and "超過" not in warning["subject"], warning["subject"]
        assert f"期限: {due_local}" in warning["body"]
        assert f"{stack.url}/console#/ticket/{number}" in warning["body"]

        _advance_to(stack, (due + timedelta(minutes=2)).isoformat())
        breaches = [m for m in stack.sent_mail() if m["to"] == [MANAGER] and "SLA超過" in m["subject"]]
        assert len(breaches) == 1 and f"期限: {due_local}" in breaches[0]["body"]
        assert f"{stack.url}/console#/ticket/{number}" in breaches[0]["body"]
        assert len([m for m in stack.sent_mail() if "期限が迫っています" in m["subject"]]) == 1, "warned once"
        timeline = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()["timeline"]
        (breach,) = [e for e in timeline if e["type"] == "sla_breached"]
        at = datetime.fromisoformat(breach["at"].replace("Z", "+00:00"))
        assert timedelta(0) <= at - due < timedelta(minutes=1), "recorded at the deadline's minute"
