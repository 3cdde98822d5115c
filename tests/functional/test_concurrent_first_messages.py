"""Issue 11, through the real HTTP stack (what ``make run`` starts; no test-only locks): 20 concurrent first
messages of one new conversation make exactly one ticket with 20 messages, on every chat channel and for
20 mails of one new email thread. Losers of the race join the winner's ticket: every delivery answers 201."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
import requests

from tests.functional.signing import headers_for
from tests.functional.stack_kit import SECRETS, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack")]

N = 20


def _chat(i: int) -> tuple[str, bytes]:
    return "chat", json.dumps({"id": f"m{i}", "conversation_id": "conv-burst", "sender": {"id": "visitor-burst"},
                               "text": f"質問 {i}"}, ensure_ascii=False).encode()


def _slack(i: int) -> tuple[str, bytes]:
    ts = f"1767949200.{i:06d}"
    event = {"type": "message", "channel": "C0BURST", "channel_type": "channel", "user": "U0BURST",
             "text": f"質問 {i}", "ts": ts, "thread_ts": "1767949200.000000"}
    return "slack", json.dumps({"type": "event_callback", "team_id": "T0", "event_id": f"Ev0BURST{i:03d}",
                                "event": event}, ensure_ascii=False).encode()


def _line(i: int) -> tuple[str, bytes]:
    event = {"type": "message", "mode": "active", "webhookEventId": f"01BURST{i:03d}", "timestamp": 1767949200000,
             "source": {"type": "user", "userId": "U0burst"}, "message": {"type": "text", "id": f"9{i:05d}",
                                                                          "text": f"質問 {i}"}}
    return "line", json.dumps({"destination": "U0dest", "events": [event]}, ensure_ascii=False).encode()


def _email(i: int) -> tuple[str, bytes]:
    """Mail ``i`` of a thread we have never seen: all answer the same root message, none is known yet."""
    msg = EmailMessage()
    msg["From"] = "山田 花子 <hanako.burst@example.jp>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Re: 配送について"
    msg["Date"] = format_datetime(datetime(2026, 1, 13, 10, 0, i, tzinfo=timezone.utc))
    msg["Message-ID"] = f"<burst-{i}@example.jp>"
    msg["In-Reply-To"] = "<burst-root@example.jp>"
    msg["References"] = "<burst-root@example.jp>"
    msg.set_content(f"追記 {i} です。", charset="utf-8")
    return "email", msg.as_bytes()


CHANNELS: dict[str, Callable[[int], tuple[str, bytes]]] = {"chat": _chat, "slack": _slack, "line": _line,
                                                           "email": _email}


def _burst(url: str, make: Callable[[int], tuple[str, bytes]]) -> list[requests.Response]:
    """Post N deliveries at once (all threads released together)."""
    start = threading.Barrier(N)

    def post(i: int) -> requests.Response:
        channel, body = make(i)
        headers = headers_for(channel, body, SECRETS)
        start.wait(30)
        return requests.post(f"{url}/webhooks/{channel}", data=body, headers=headers, timeout=120)

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(post, range(N)))


def test_20_concurrent_first_messages_make_one_ticket_on_every_channel():
    with running_stack() as stack:
        figures = {}
        for channel, make in CHANNELS.items():
            responses = _burst(stack.url, make)
            codes = sorted(r.status_code for r in responses)
            assert codes == [201] * N, (channel, codes, [r.text[:200] for r in responses if r.status_code != 201])
            numbers = {r.json()["results"][0]["ticket_id"] for r in responses}
            assert len(numbers) == 1, f"{channel}: {len(numbers)} tickets for one conversation"
            [number] = numbers
            ticket = requests.get(f"{stack.url}/tickets/{number}", headers=stack.auth, timeout=60).json()
            inbound = [e for e in ticket["timeline"] if e["type"] == "message_in"]
            assert len(inbound) == N, f"{channel}: {len(inbound)} messages on the ticket"
            figures[channel] = number
        listed = requests.get(f"{stack.url}/tickets?view=all&limit=100", headers=stack.auth, timeout=60).json()
        assert sorted(t["id"] for t in listed["tickets"]) == sorted(figures.values()), "no stray tickets"
