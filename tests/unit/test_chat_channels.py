"""Chat, Slack and LINE plugins without AWS: parsing edge cases and sending against a local receiver."""

from __future__ import annotations

import copy
import json
import time
from datetime import datetime, timezone

import pytest
from slack_sdk.signature import SignatureVerifier

from chalicelib.domain import InboundRequest, OutboundMessage
from chalicelib.errors import Unauthorized
from chalicelib.plugin_manager import build_plugin_manager
from tests.conftest import ROOT
from tests.functional.http_receiver import receiving

NOW = datetime(2026, 1, 9, 7, 0, tzinfo=timezone.utc)
SLACK = json.loads((ROOT / "tests" / "events" / "slack_message.json").read_text())
LINE = json.loads((ROOT / "tests" / "events" / "line_message.json").read_text())


@pytest.fixture(scope="module")
def pm():
    return build_plugin_manager(entry_points=False)


def _parse(pm, channel: str, doc: dict) -> list:
    request = InboundRequest(channel, {"content-type": "application/json"}, json.dumps(doc).encode())
    return pm.hook.helpdesk_parse_inbound(channel=channel, request=request, now=NOW)


def _slack(**event) -> dict:
    doc = copy.deepcopy(SLACK)
    doc["event"].update(event)
    return doc


def test_slack_signature_is_checked_against_the_hooks_clock_not_the_wall_clock(pm):
    body = json.dumps(SLACK).encode()
    ts = str(int(NOW.timestamp()))
    sig = SignatureVerifier("s").generate_signature(timestamp=ts, body=body)
    request = InboundRequest("slack", {"x-slack-request-timestamp": ts, "x-slack-signature": sig}, body)
    verify = pm.hook.helpdesk_verify_inbound
    assert verify(channel="slack", request=request, get_secret={"SLACK_SIGNING_SECRET": "s"}.get, now=NOW)
    with pytest.raises(Unauthorized, match="replay window"):
        verify(channel="slack", request=request, get_secret={"SLACK_SIGNING_SECRET": "s"}.get,
               now=datetime.now(timezone.utc))
    with pytest.raises(Unauthorized, match="not configured"):
        verify(channel="slack", request=request, get_secret=lambda _: None, now=NOW)


def test_slack_dm_is_one_conversation_and_files_are_kept(pm):
    [dm] = _parse(pm, "slack", _slack(channel="D0HANAKO", channel_type="im"))
    assert dm.thread_key == "slack:D0HANAKO" and dm.metadata["thread_ts"] is None
    [in_thread] = _parse(pm, "slack", _slack(channel="D0HANAKO", channel_type="im", thread_ts="1.0"))
    assert in_thread.thread_key == "slack:D0HANAKO:1.0" and in_thread.metadata["thread_ts"] == "1.0"
    files = [{"name": "receipt.pdf", "mimetype": "application/pdf", "url_private": "https://files.slack.com/x",
              "size": 10}]
    [shared] = _parse(pm, "slack", _slack(subtype="file_share", text="", files=files))
    assert shared.subject == "(file)" and shared.metadata["attachments"][0]["name"] == "receipt.pdf"
    assert shared.sender.identity_kind == "slack" and shared.sender.identity_value == "U0HANAKO"
    assert _parse(pm, "slack", {"type": "app_rate_limited", "minute_rate_limited": 1}) == []


def test_line_groups_media_and_several_events_in_one_delivery(pm):
    doc = copy.deepcopy(LINE)
    image = copy.deepcopy(doc["events"][0])
    image.update(webhookEventId="e-image", source={"type": "group", "groupId": "C0GROUP", "userId": "U0TARO"},
                 message={"type": "image", "id": "900", "quoteToken": "q",
                          "contentProvider": {"type": "line"}})
    no_user = copy.deepcopy(doc["events"][0])
    no_user.update(webhookEventId="e-anon", source={"type": "group", "groupId": "C0GROUP"})
    doc["events"] += [image, no_user]
    text, img = _parse(pm, "line", doc)
    assert text.thread_key == f"line:{text.sender.identity_value}"
    assert text.dedupe_key == "line:01JGZ6Q4W3T8M2B5K7N9P1R3S5"
    assert img.thread_key == "line:C0GROUP" and img.metadata["to"] == "C0GROUP"
    assert img.sender.identity_value == "U0TARO" and img.body_text == "[image]"
    assert img.metadata["attachments"] == [{"type": "image", "message_id": "900", "name": None, "size": None,
                                            "content_provider": "line"}]


def _line_reply(body: str, event_id: str | None = "01EV") -> OutboundMessage:
    meta = {"reply_target": {"to": "U0HANAKO"}, **({"event_id": event_id} if event_id else {})}
    return OutboundMessage(ticket_id=7, channel="line", to="", subject="", body_text=body, metadata=meta)


def test_line_push_splits_long_text_and_treats_an_accepted_retry_key_as_sent(pm, monkeypatch):
    secrets = {"LINE_CHANNEL_ACCESS_TOKEN": "tok"}.get
    answers = iter([(200, {"sentMessages": [{"id": "1"}, {"id": "2"}]}),
                    (409, {"message": "The retry key is already accepted", "sentMessages": [{"id": "1"}]})])
    with receiving(lambda req: next(answers)) as api:
        monkeypatch.setenv("LINE_API_URL", api.url)
        first = pm.hook.helpdesk_send_message(message=_line_reply("あ" * 5001), get_secret=secrets)
        retry = pm.hook.helpdesk_send_message(message=_line_reply("あ" * 5001), get_secret=secrets)
    assert first.provider_message_id == "line:1" and first.metadata["message_ids"] == ["line:2"]
    assert retry.provider_message_id == "line:1"
    pushed = [r.json() for r in api.requests]
    assert [len(m["text"]) for m in pushed[0]["messages"]] == [5000, 1]
    assert api.requests[0].headers["x-line-retry-key"] == api.requests[1].headers["x-line-retry-key"]
    with pytest.raises(ValueError, match="at most"):
        pm.hook.helpdesk_send_message(message=_line_reply("あ" * 25001), get_secret=secrets)
    with pytest.raises(RuntimeError, match="no LINE user"):
        pm.hook.helpdesk_send_message(message=OutboundMessage(7, "line", "", "", "x"), get_secret=secrets)


def test_chat_signature_recipe_rejects_tampering_and_old_timestamps():
    from plugins.channel_chat import sign, verify_signature

    body, ts = b'{"id":"m1"}', str(int(time.time()))
    good = sign("k", ts, body)
    assert verify_signature("k", ts, good, body, time.time()) is None
    assert "invalid" in verify_signature("k", ts, good, body + b" ", time.time())
    assert "replay" in verify_signature("k", ts, good, body, time.time() + 301)
    assert "missing" in verify_signature("k", None, good, body, time.time())
    assert "unix seconds" in verify_signature("k", "yesterday", good, body, time.time())
