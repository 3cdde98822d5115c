"""Test doubles registered as real plugins: a chat channel that records what it sends."""

from __future__ import annotations

import json
import threading

from chalicelib.domain import InboundMessage, Sender, SendResult
from chalicelib.hookspecs import hookimpl


class TestChat:
    """Channel ``testchat``: JSON ``{id, user, text, conversation?, refs?, hint?, ...}``; sends are recorded."""

    __test__ = False

    def __init__(self) -> None:
        self.sent: list = []
        self.fail_next = 0
        self._lock = threading.Lock()

    @hookimpl
    def helpdesk_channels(self):
        return ["testchat"]

    @hookimpl
    def helpdesk_verify_inbound(self, channel, request, get_secret, now):
        return True if channel == "testchat" else None

    @hookimpl
    def helpdesk_parse_inbound(self, channel, request, now):
        if channel != "testchat":
            return None
        d = json.loads(request.body)
        return [InboundMessage(
            channel="testchat", dedupe_key=f"testchat:{d['id']}",
            sender=Sender("testchat", d["user"], name=d.get("name", d["user"]), email=d.get("email", "")),
            subject=d.get("subject", "chat"), body_text=d["text"], received_at=now, thread_key=d.get("conversation"),
            references=tuple(d.get("refs", ())), ticket_hint=d.get("hint"), message_ids=(d["id"],),
            match_subject=d.get("match_subject", False), reopen_window_s=d.get("reopen_window_s"),
        )]

    @hookimpl
    def helpdesk_send_message(self, message, get_secret):
        if message.channel != "testchat":
            return None
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("chat service unavailable")
            self.sent.append(message)
            return SendResult(provider_message_id=f"out-{len(self.sent)}")
